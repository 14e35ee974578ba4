#include "kv/command.h"
#include "kv/pubsub.h"

#include "kv/util.h"

namespace stratus::kv {

Status CommandTable::Add(const CommandSpec& spec) {
  std::string name(spec.name);
  if (name.empty() || ToLower(name) != name || spec.arity == 0 || spec.handler == nullptr) {
    return InvalidArgument("bad command row '" + name + "'");
  }
  if (!(spec.flags & (kWrite | kReadOnly)))
    return InvalidArgument("command '" + name + "' is neither write nor read-only");
  if (!specs_.emplace(name, spec).second) return InvalidArgument("duplicate command '" + name + "'");
  return Status::Ok();
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  auto it = specs_.find(ToLower(name));
  return it == specs_.end() ? nullptr : &it->second;
}

std::string ArityError(std::string_view lower_name) {
  return "ERR wrong number of arguments for '" + std::string(lower_name) + "' command";
}

Status RegisterAllFamilies(CommandTable& table) {
  for (auto reg : {RegisterStringFamily, RegisterKeyFamily, RegisterHashFamily, RegisterSetFamily, RegisterListFamily,
                   RegisterZSetFamily, RegisterServerFamily, RegisterScriptingFamily, RegisterBitFamily,
                   RegisterIntrospectionFamily, RegisterHyperLogLogFamily, RegisterPubSubFamily, RegisterStreamFamily,
                   RegisterGeoFamily, RegisterJsonFamily}) {
    STRATUS_RETURN_IF_ERROR(reg(table));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
