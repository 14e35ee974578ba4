#include "api/rpc.h"

namespace stratus::api {

std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

http::Response RpcError(const http::Request& req, const Status& status) {
  int http_status = HttpStatusOf(status.code());
  Json body = {
      {"error",
       {{"code", http_status}, {"message", status.message()}, {"status", std::string(CodeName(status.code()))}}}};
  return http::MakeResponse(req, static_cast<beast::http::status>(http_status), DumpJson(body),
                            "application/json; charset=UTF-8");
}

http::Response RpcErrorForHttpStatus(const http::Request& req, int http_status, std::string message) {
  Code code = Code::kInvalidArgument;
  switch (http_status) {
    case 401:
      code = Code::kUnauthenticated;
      break;
    case 404:
      code = Code::kNotFound;
      break;
    case 405:
      code = Code::kUnimplemented;
      break;
    case 413:
      code = Code::kResourceExhausted;
      break;
    case 500:
      code = Code::kInternal;
      break;
    default:
      break;
  }
  Json body = {{"error", {{"code", http_status}, {"message", message}, {"status", std::string(CodeName(code))}}}};
  return http::MakeResponse(req, static_cast<beast::http::status>(http_status), DumpJson(body),
                            "application/json; charset=UTF-8");
}

http::Response JsonReply(const http::Request& req, const Json& body) {
  return http::MakeResponse(req, beast::http::status::ok, DumpJson(body), "application/json; charset=UTF-8");
}

}  // namespace stratus::api
