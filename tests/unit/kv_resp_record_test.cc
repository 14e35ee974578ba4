// The log's records: Redis's RESP command arrays, byte for byte.
#include <gtest/gtest.h>

#include "kv/reply.h"

namespace stratus::kv {
namespace {

TEST(RespRecordTest, CommandsAreRespArraysOfBulkStrings) {
  std::string out = "prefix";
  AppendRespCommand({"SET", "key:1", "vvv"}, &out);
  EXPECT_EQ(out, "prefix*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$3\r\nvvv\r\n");
  out.clear();
  AppendRespCommand({"set", "", std::string(1234567, 'x')}, &out);
  EXPECT_EQ(out, "*3\r\n$3\r\nset\r\n$0\r\n\r\n$1234567\r\n" + std::string(1234567, 'x') + "\r\n");
  out.clear();
  AppendRespCommand(std::vector<std::string>{}, &out);
  EXPECT_EQ(out, "*0\r\n");
  out.clear();
  std::vector<std::string> many(12, "a");
  AppendRespCommand(many, &out);
  std::string want = "*12\r\n";
  for (int i = 0; i < 12; ++i) want += "$1\r\na\r\n";
  EXPECT_EQ(out, want);
}

TEST(RespRecordTest, ANameReplacesTheFirstArgument) {
  std::string out;
  AppendRespCommand("SET", {"set", "k", "v"}, &out);
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
}

}  // namespace
}  // namespace stratus::kv
