#include "kv/json_value.h"

#include "kv/memory_estimate.h"
#include "kv/reply.h"

namespace stratus::kv {

std::string JsonDump(const JsonDoc& v) {
  // Keys made from path text may hold invalid UTF-8: replaced rather than thrown on.
  return v.dump(-1, ' ', false, JsonDoc::error_handler_t::replace);
}

namespace {

size_t StringBytes(size_t len) {
  constexpr size_t kInline = 15;  // libstdc++'s small-string buffer
  return len > kInline ? mem::Alloc(len + 1) : 0;
}

size_t NodeBytes(const JsonDoc& v) {
  switch (v.type()) {
    case JsonDoc::value_t::object: {
      const auto& obj = v.get_ref<const JsonDoc::object_t&>();
      size_t n =
          mem::Alloc(sizeof(JsonDoc::object_t)) + mem::Alloc(obj.capacity() * sizeof(JsonDoc::object_t::value_type));
      for (const auto& [k, child] : obj) n += StringBytes(k.size()) + NodeBytes(child);
      return n;
    }
    case JsonDoc::value_t::array: {
      const auto& arr = v.get_ref<const JsonDoc::array_t&>();
      size_t n = mem::Alloc(sizeof(JsonDoc::array_t)) + mem::Alloc(arr.capacity() * sizeof(JsonDoc));
      for (const auto& child : arr) n += NodeBytes(child);
      return n;
    }
    case JsonDoc::value_t::string:
      return mem::Alloc(sizeof(std::string)) + StringBytes(v.get_ref<const std::string&>().size());
    default:
      return 0;  // held inside the parent's slot
  }
}

}  // namespace

size_t MemoryUsage(const JsonValue& v) {
  return mem::kObject + mem::Alloc(sizeof(JsonValue)) + NodeBytes(v.doc);
}

void AppendSnapshot(const std::string& key, const JsonValue& v, std::string* out) {
  AppendRespCommand({"JSON.SET", key, "$", JsonDump(v.doc)}, out);
}

}  // namespace stratus::kv
