#include "common/json.h"

#include <charconv>
#include <climits>
#include <cmath>

#include "common/base64.h"

namespace stratus {

// nlohmann's parser recurses per nesting level; bound the depth before parsing so a hostile
// body cannot exhaust the stack.
bool JsonNestingWithin(std::string_view body, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

StatusOr<Json> ParseJsonBody(std::string_view body) {
  size_t i = 0;
  while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
  if (i == body.size()) return Json::object();
  if (!JsonNestingWithin(body, kMaxJsonDepth)) {
    return InvalidArgument("Invalid JSON payload received. Nesting is deeper than " + std::to_string(kMaxJsonDepth) +
                           " levels.");
  }
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return InvalidArgument("Invalid JSON payload received. Unexpected token or malformed JSON.");
  }
  return j;
}

std::string CamelToSnake(std::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

StatusOr<JsonObject> JsonObject::Of(const Json& value, std::string path) {
  static const Json kEmpty = Json::object();
  if (value.is_null()) return JsonObject(&kEmpty, std::move(path));
  if (!value.is_object()) {
    return InvalidArgument("Invalid JSON payload received. Expected an object at '" + path + "', got " + value.dump() +
                           ".");
  }
  return JsonObject(&value, std::move(path));
}

StatusOr<JsonObject> JsonObject::Root(const Json& value, std::string path) {
  if (!value.is_object()) {
    return InvalidArgument("Invalid JSON payload received. Unknown name \"\": Root element must be a message.");
  }
  return JsonObject(&value, std::move(path));
}

const Json* JsonObject::Find(std::string_view field) const {
  auto it = json_->find(std::string(field));
  if (it == json_->end()) it = json_->find(CamelToSnake(field));
  if (it == json_->end() || it->is_null()) return nullptr;
  return &*it;
}

std::string JsonObject::FieldPath(std::string_view field) const {
  return path_.empty() ? CamelToSnake(field) : path_ + "." + CamelToSnake(field);
}

Status JsonObject::InvalidValue(std::string_view field, std::string_view type, const Json& value) const {
  return InvalidArgument("Invalid value at '" + FieldPath(field) + "' (" + std::string(type) + "), " + value.dump());
}

Status JsonObject::CheckFields(std::initializer_list<std::string_view> fields) const {
  for (const auto& [key, value] : json_->items()) {
    bool known = false;
    for (auto f : fields) {
      if (key == f || key == CamelToSnake(f)) {
        known = true;
        break;
      }
    }
    if (!known) {
      std::string msg = "Invalid JSON payload received. Unknown name \"";
      msg.append(key).append("\"");
      if (!path_.empty()) msg.append(" at '").append(path_).append("'");
      return InvalidArgument(msg.append(": Cannot find field."));
    }
  }
  return Status::Ok();
}

Status JsonObject::GetString(std::string_view field, std::optional<std::string>* out) const {
  const Json* v = Find(field);
  if (!v) return Status::Ok();
  if (!v->is_string()) return InvalidValue(field, "TYPE_STRING", *v);
  *out = v->get<std::string>();
  return Status::Ok();
}

Status JsonObject::GetInt(std::string_view field, std::optional<int64_t>* out) const {
  const Json* v = Find(field);
  if (!v) return Status::Ok();
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return InvalidValue(field, "TYPE_INT32", *v);
  }
  if (v->is_number_integer()) {
    *out = v->get<int64_t>();
    return Status::Ok();
  }
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::trunc(d) == d && std::fabs(d) < 9.2e18) {
      *out = static_cast<int64_t>(d);
      return Status::Ok();
    }
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) {
      *out = n;
      return Status::Ok();
    }
  }
  return InvalidValue(field, "TYPE_INT32", *v);
}

Status JsonObject::GetInt32(std::string_view field, std::optional<int64_t>* out) const {
  std::optional<int64_t> v;
  STRATUS_RETURN_IF_ERROR(GetInt(field, &v));
  if (v && (*v < INT32_MIN || *v > INT32_MAX)) return InvalidValue(field, "TYPE_INT32", *Find(field));
  *out = v;
  return Status::Ok();
}

Status JsonObject::GetDouble(std::string_view field, std::optional<double>* out) const {
  const Json* v = Find(field);
  if (!v) return Status::Ok();
  if (v->is_number()) {
    *out = v->get<double>();
    return Status::Ok();
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d)) {
      *out = d;
      return Status::Ok();
    }
  }
  return InvalidValue(field, "TYPE_DOUBLE", *v);
}

Status JsonObject::GetDuration(std::string_view field, std::optional<Micros>* out) const {
  const Json* v = Find(field);
  if (!v) return Status::Ok();
  if (v->is_string()) {
    auto d = ParseDuration(v->get_ref<const std::string&>());
    if (d.ok()) {
      *out = *d;
      return Status::Ok();
    }
  }
  return InvalidValue(field, "type.googleapis.com/google.protobuf.Duration", *v);
}

Status JsonObject::GetTimestamp(std::string_view field, std::optional<Micros>* out) const {
  const Json* v = Find(field);
  if (!v) return Status::Ok();
  if (v->is_string()) {
    auto t = ParseTimestamp(v->get_ref<const std::string&>());
    if (t.ok()) {
      *out = *t;
      return Status::Ok();
    }
  }
  return InvalidValue(field, "type.googleapis.com/google.protobuf.Timestamp", *v);
}

Status JsonObject::GetBytes(std::string_view field, std::optional<std::string>* out) const {
  const Json* v = Find(field);
  if (!v) return Status::Ok();
  if (v->is_string()) {
    auto b = Base64Decode(v->get_ref<const std::string&>());
    if (b.ok()) {
      *out = std::move(*b);
      return Status::Ok();
    }
  }
  return InvalidValue(field, "TYPE_BYTES", *v);
}

Status JsonObject::GetEnum(std::string_view field, const std::vector<EnumName>& names, std::string_view type,
                           std::optional<int>* out) const {
  const Json* v = Find(field);
  if (!v) return Status::Ok();
  for (const auto& n : names) {
    if ((v->is_string() && v->get_ref<const std::string&>() == n.name) ||
        (v->is_number_integer() && v->get<int64_t>() == n.value)) {
      *out = n.value;
      return Status::Ok();
    }
  }
  return InvalidValue(field, type, *v);
}

Status JsonObject::GetStringMap(std::string_view field, std::optional<std::map<std::string, std::string>>* out) const {
  const Json* v = Find(field);
  if (!v) return Status::Ok();
  if (!v->is_object()) return InvalidValue(field, "map<string, string>", *v);
  std::map<std::string, std::string> m;
  for (const auto& [key, value] : v->items()) {
    if (!value.is_string()) {
      return InvalidArgument("Invalid value at '" + FieldPath(field) + "[" + key + "]' (TYPE_STRING), " +
                             value.dump(-1, ' ', false, Json::error_handler_t::replace));
    }
    m[key] = value.get<std::string>();
  }
  *out = std::move(m);
  return Status::Ok();
}

StatusOr<std::optional<JsonObject>> JsonObject::GetObject(std::string_view field) const {
  const Json* v = Find(field);
  if (!v) return std::optional<JsonObject>();
  STRATUS_ASSIGN_OR_RETURN(auto obj, Of(*v, FieldPath(field)));
  return std::optional<JsonObject>(std::move(obj));
}

}  // namespace stratus
