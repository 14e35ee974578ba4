// The command table: one row per command (name, arity, flags, handler), registered
// explicitly by each family (RegisterStringFamily(), ...) and checked when added.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kv/keyspace.h"
#include "kv/reply.h"
#include "stratus/status.h"

namespace stratus::kv {

using Argv = std::vector<std::string>;
class Engine;

enum CommandFlag : uint32_t {
  kWrite = 1u << 0,              // may change data: logged, refused to the read-only token
  kReadOnly = 1u << 1,           // never changes data
  kDenyReadOnlyToken = 1u << 2,  // refused to the read-only token even though it only reads (SCAN, KEYS)
  kNoScript = 1u << 3,           // not callable from Lua
};

// What a handler sees: the arguments, the keyspace, and where its reply and log records go.
struct CommandContext {
  Engine& engine;
  Keyspace& db;
  const Argv& argv;  // argv[0] is the name as the client sent it
  Reply reply;

  // By default a write command that changed something is logged as sent. A handler whose
  // effect depends on time or chance logs its effect instead (SET EX -> SET PXAT).
  void Dirty() { dirty = true; }
  void Propagate(Argv record) {
    dirty = true;
    custom = true;
    custom_records.push_back(std::move(record));
  }
  // Logged as sent but under `name` (a plain SET sent as "set" is logged as "SET"), without
  // copying the arguments into a record. `name` must outlive the call (a literal).
  void DirtyAs(std::string_view name) {
    dirty = true;
    log_name = name;
  }
  // The command logs nothing itself (a script: its calls log their own effects).
  void NoPropagate() { custom = true; }
  void Error(std::string_view text) { reply = ErrorReply(text); }
  int64_t now() const { return db.now(); }

  bool dirty = false;
  std::vector<Argv> custom_records;
  bool custom = false;        // true once Propagate was called, even with nothing to log
  std::string_view log_name;  // DirtyAs
};

using CommandHandler = void (*)(CommandContext&);

struct CommandSpec {
  std::string_view name;  // lower case
  int arity;              // > 0: exactly; < 0: at least -arity (command name included)
  uint32_t flags;
  CommandHandler handler;
};

class CommandTable {
 public:
  // Fails on a duplicate, a non-lower-case name or a zero arity.
  Status Add(const CommandSpec& spec);
  // Case-insensitive.
  const CommandSpec* Find(std::string_view name) const;
  const std::unordered_map<std::string, CommandSpec>& all() const { return specs_; }

 private:
  std::unordered_map<std::string, CommandSpec> specs_;
};

// The families; each adds its rows.
Status RegisterStringFamily(CommandTable& table);
Status RegisterKeyFamily(CommandTable& table);
Status RegisterHashFamily(CommandTable& table);
Status RegisterSetFamily(CommandTable& table);
Status RegisterListFamily(CommandTable& table);
Status RegisterZSetFamily(CommandTable& table);
Status RegisterServerFamily(CommandTable& table);
Status RegisterScriptingFamily(CommandTable& table);
Status RegisterBitFamily(CommandTable& table);
Status RegisterIntrospectionFamily(CommandTable& table);
Status RegisterHyperLogLogFamily(CommandTable& table);
Status RegisterStreamFamily(CommandTable& table);
Status RegisterGeoFamily(CommandTable& table);
Status RegisterJsonFamily(CommandTable& table);
// Every family above plus PUBLISH/PUBSUB (kv/pubsub.h): the table the engine runs, and the one
// the proxy and the metrics know command names and flags from.
Status RegisterAllFamilies(CommandTable& table);

// "ERR wrong number of arguments for 'get' command"
std::string ArityError(std::string_view lower_name);

}  // namespace stratus::kv
