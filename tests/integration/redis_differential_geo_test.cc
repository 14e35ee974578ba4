// Differential test of the geo commands: fixed cases (every error text included) and seeded
// random points and searches go to the embedded engine and to a real redis-server, and every
// reply must be identical, the scores GEOADD stores (read back with ZRANGE WITHSCORES) too.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "integration/redis_differential.h"

namespace stratus {
namespace {

using kv::Argv;
using kv::Reply;

class RedisDifferentialGeo : public testing::RedisDifferentialTest {
 protected:
  Reply Same(const Argv& cmd) {
    Reply want = client_->Call(cmd);
    Reply got = engine_.Run(cmd);
    EXPECT_EQ(kv::DebugString(got), kv::DebugString(want)) << testing::Shown(cmd);
    return want;
  }
};

std::string Num(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

TEST_F(RedisDifferentialGeo, FixedCasesAnswerLikeRedis) {
  Flush();
  const std::vector<Argv> setup = {
      {"geoadd", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
      {"geoadd", "Sicily", "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2"},
      {"geoadd", "world", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw", "0", "0", "origin"},
      {"geoadd", "world", "179.999", "0", "east", "-179.999", "0", "west", "0", "85", "north"},
      {"set", "str", "v"},
      {"sadd", "set", "a"},
  };
  for (const auto& cmd : setup) Same(cmd);
  const std::vector<Argv> cases = {
      {"zrange", "Sicily", "0", "-1", "withscores"},
      {"zrange", "world", "0", "-1", "withscores"},
      // GEOADD options and errors.
      {"geoadd", "Sicily", "nx", "13.361389", "38.115556", "Palermo", "1", "1", "new"},
      {"geoadd", "Sicily", "xx", "ch", "13.4", "38.1", "Palermo", "1", "2", "nothere"},
      {"geoadd", "Sicily", "ch", "13.4", "38.1", "Palermo"},
      {"geoadd", "Sicily", "CH", "XX", "13.361389", "38.115556", "Palermo"},
      {"geoadd", "Sicily", "nx", "xx", "1", "1", "a"},
      {"geoadd", "Sicily", "gt", "1", "1", "a"},
      {"geoadd", "Sicily", "1", "1"},
      {"geoadd", "Sicily", "ch", "ch", "ch"},
      {"geoadd", "Sicily", "181", "1", "a"},
      {"geoadd", "Sicily", "1", "86", "a"},
      {"geoadd", "Sicily", "-180.0001", "-85.05112879", "a"},
      {"geoadd", "Sicily", "x", "1", "a"},
      {"geoadd", "Sicily", "1", "nan", "a"},
      {"geoadd", "str", "1", "1", "a"},
      {"geoadd", "str", "1", "100", "a"},
      {"geoadd", "newkey", "xx", "1", "1", "a"},
      {"exists", "newkey"},
      {"geoadd", "k"},
      {"zrange", "Sicily", "0", "-1", "withscores"},
      // GEODIST.
      {"geodist", "Sicily", "Palermo", "Catania"},
      {"geodist", "Sicily", "Palermo", "Catania", "km"},
      {"geodist", "Sicily", "Palermo", "Catania", "MI"},
      {"geodist", "Sicily", "Palermo", "Catania", "ft"},
      {"geodist", "Sicily", "Palermo", "Catania", "m"},
      {"geodist", "Sicily", "Palermo", "Catania", "yd"},
      {"geodist", "Sicily", "Palermo", "Catania", "km", "x"},
      {"geodist", "Sicily", "Palermo", "nope"},
      {"geodist", "nokey", "a", "b"},
      {"geodist", "nokey", "a", "b", "parsec"},
      {"geodist", "str", "a", "b"},
      {"geodist", "world", "ne", "sw"},
      {"geodist", "world", "east", "west"},
      {"geodist", "world", "Palermo", "Palermo"},
      // GEOHASH and GEOPOS.
      {"geohash", "Sicily", "Palermo", "Catania", "nope"},
      {"geohash", "world", "ne", "sw", "origin", "east", "west", "north"},
      {"geohash", "nokey", "a"},
      {"geohash", "nokey"},
      {"geohash", "str", "a"},
      {"geopos", "Sicily", "Palermo", "Catania", "nope"},
      {"geopos", "world", "ne", "sw", "origin", "east", "west", "north"},
      {"geopos", "nokey", "a", "b"},
      {"geopos", "Sicily"},
      {"geopos", "str", "a"},
      {"geopos", "set", "a"},
      // GEORADIUS and friends.
      {"georadius", "Sicily", "15", "37", "200", "km", "WITHDIST"},
      {"georadius", "Sicily", "15", "37", "200", "km", "WITHCOORD"},
      {"georadius", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"},
      {"georadius", "Sicily", "15", "37", "200", "km", "WITHHASH", "desc"},
      {"georadius", "Sicily", "15", "37", "200", "km", "asc", "count", "1"},
      {"georadius", "Sicily", "15", "37", "200", "km", "count", "1", "any"},
      {"georadius", "Sicily", "15", "37", "200", "km", "any"},
      {"georadius", "Sicily", "15", "37", "200", "km", "count", "0"},
      {"georadius", "Sicily", "15", "37", "200", "km", "count", "-1"},
      {"georadius", "Sicily", "15", "37", "200", "km", "count", "x"},
      {"georadius", "Sicily", "15", "37", "200", "km", "count"},
      {"georadius", "Sicily", "15", "37", "200", "lightyear"},
      {"georadius", "Sicily", "15", "37", "-1", "km"},
      {"georadius", "Sicily", "15", "37", "far", "km"},
      {"georadius", "Sicily", "15", "97", "200", "km"},
      {"georadius", "Sicily", "15", "37", "200", "km", "bogus"},
      {"georadius", "Sicily", "15", "37", "200", "km", "store", "dst", "withdist"},
      {"georadius", "Sicily", "15", "37", "200", "km", "store", "dst"},
      {"zrange", "dst", "0", "-1", "withscores"},
      {"georadius", "Sicily", "15", "37", "200", "km", "storedist", "dst2", "desc"},
      {"zrange", "dst2", "0", "-1", "withscores"},
      {"georadius", "Sicily", "15", "37", "1", "km", "store", "dst"},
      {"exists", "dst"},
      {"georadius", "nokey", "15", "37", "200", "km", "store", "dst2"},
      {"exists", "dst2"},
      {"georadius", "nokey", "15", "37", "200", "km"},
      {"georadius", "str", "15", "37", "200", "km"},
      {"georadius_ro", "Sicily", "15", "37", "200", "km", "withdist", "asc"},
      {"georadius_ro", "Sicily", "15", "37", "200", "km", "store", "x"},
      {"georadiusbymember", "Sicily", "Palermo", "200", "km", "withdist"},
      {"georadiusbymember", "Sicily", "nope", "200", "km"},
      {"georadiusbymember", "Sicily", "Palermo", "-5", "km"},
      {"georadiusbymember", "nokey", "Palermo", "x", "y", "store", "z"},
      {"georadiusbymember", "nokey", "Palermo", "x", "y"},
      {"georadiusbymember_ro", "Sicily", "Palermo", "300", "km", "desc", "withcoord"},
      {"georadiusbymember_ro", "Sicily", "Palermo", "300", "km", "storedist", "x"},
      {"georadius", "world", "0", "0", "20000", "km", "asc"},
      {"georadius", "world", "180", "0", "500", "km", "withdist", "asc"},
      {"georadius", "world", "0", "85", "5000", "km", "withdist", "asc"},
      {"georadius", "world", "0", "0", "0", "m", "withdist"},
      // GEOSEARCH and GEOSEARCHSTORE.
      {"geosearch", "Sicily", "frommember", "Palermo", "byradius", "200", "km", "asc", "withdist"},
      {"geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "asc", "withcoord", "withdist"},
      {"geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "desc", "withhash"},
      {"geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "count", "2", "any"},
      {"geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "count", "2"},
      {"geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "-1", "400", "km"},
      {"geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "x", "400", "km"},
      {"geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "1", "y", "km"},
      {"geosearch", "Sicily", "fromlonlat", "15", "37", "bybox", "1", "1", "au"},
      {"geosearch", "Sicily", "fromlonlat", "15", "37", "byradius", "1", "km", "bybox", "1", "1", "km"},
      {"geosearch", "Sicily", "frommember", "Palermo", "fromlonlat", "15", "37", "byradius", "1", "km"},
      {"geosearch", "Sicily", "frommember", "nope", "byradius", "1", "km"},
      {"geosearch", "Sicily", "byradius", "1", "km", "asc"},
      {"geosearch", "Sicily", "frommember", "Palermo", "asc", "withdist"},
      {"geosearch", "Sicily", "frommember", "Palermo", "byradius", "1", "km", "any"},
      {"geosearch", "Sicily", "frommember", "Palermo", "byradius", "1", "km", "store", "x"},
      {"geosearch", "Sicily", "frommember", "Palermo", "byradius", "1", "km", "storedist"},
      {"geosearch", "Sicily", "fromlonlat", "15", "100", "byradius", "1", "km"},
      {"geosearch", "nokey", "frommember", "Palermo", "byradius", "1", "km"},
      {"geosearch", "str", "frommember", "Palermo", "byradius", "1", "km"},
      {"geosearch", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "KM", "ASC", "COUNT", "3", "WITHCOORD"},
      {"geosearchstore", "out", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "asc"},
      {"zrange", "out", "0", "-1", "withscores"},
      {"geosearchstore", "out", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "asc", "storedist"},
      {"zrange", "out", "0", "-1", "withscores"},
      {"geosearchstore", "out", "Sicily", "fromlonlat", "15", "37", "bybox", "400", "400", "km", "withdist"},
      {"geosearchstore", "out", "Sicily", "fromlonlat", "15", "37", "byradius", "1", "m"},
      {"exists", "out"},
      {"geosearchstore", "out", "nokey", "frommember", "x", "byradius", "1", "m"},
      {"geosearchstore", "out", "Sicily", "fromlonlat", "15", "37", "byradius", "1", "m", "store", "y"},
      {"geosearchstore", "str", "Sicily", "fromlonlat", "15", "37", "byradius", "200", "km"},
      {"type", "str"},
      {"geosearch", "world", "fromlonlat", "0", "0", "bybox", "40000", "20000", "km", "asc", "withdist"},
      {"geosearch", "world", "fromlonlat", "-179.9", "0", "byradius", "300", "km", "asc", "withdist"},
  };
  for (const auto& cmd : cases) Same(cmd);
}

// Random points (near the poles and the antimeridian too) and random searches around them:
// the same stored scores, coordinates, hashes, distances and search results, in order.
TEST_F(RedisDifferentialGeo, RandomPointsAndSearchesAnswerLikeRedis) {
  Flush();
  std::mt19937_64 rng(20260415);
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  auto lon_lat = [&](double* lon, double* lat) {
    switch (rng() % 4) {
      case 0:  // anywhere
        *lon = uni(-180, 180);
        *lat = uni(-85.05112878, 85.05112878);
        break;
      case 1:  // near a pole
        *lon = uni(-180, 180);
        *lat = (rng() % 2 ? 1 : -1) * uni(80, 85.05112878);
        break;
      case 2:  // near the antimeridian
        *lon = (rng() % 2 ? 1 : -1) * uni(178, 180);
        *lat = uni(-60, 60);
        break;
      default:  // a dense cluster, so searches find many points
        *lon = uni(13, 14);
        *lat = uni(45, 46);
        break;
    }
  };
  const char* units[] = {"m", "km", "mi", "ft"};
  for (int round = 0; round < 4; ++round) {
    Argv add{"geoadd", "pts"};
    for (int i = 0; i < 150; ++i) {
      double lon, lat;
      lon_lat(&lon, &lat);
      add.push_back(Num(lon, 1 + static_cast<int>(rng() % 12)));
      add.push_back(Num(lat, 1 + static_cast<int>(rng() % 12)));
      add.push_back("p" + std::to_string(round) + "_" + std::to_string(i));
    }
    Same(add);
  }
  Same({"zrange", "pts", "0", "-1", "withscores"});
  Argv pos{"geopos", "pts"}, hash{"geohash", "pts"};
  for (int i = 0; i < 150; ++i) {
    pos.push_back("p0_" + std::to_string(i));
    hash.push_back("p1_" + std::to_string(i));
  }
  Same(pos);
  Same(hash);
  for (int i = 0; i < 200; ++i) {
    std::string m1 = "p" + std::to_string(rng() % 4) + "_" + std::to_string(rng() % 150);
    std::string m2 = "p" + std::to_string(rng() % 4) + "_" + std::to_string(rng() % 150);
    Same({"geodist", "pts", m1, m2, units[rng() % 4]});
  }
  for (int i = 0; i < 300; ++i) {
    Argv cmd{"geosearch", "pts"};
    if (rng() % 2) {
      cmd.insert(cmd.end(), {"frommember", "p" + std::to_string(rng() % 4) + "_" + std::to_string(rng() % 150)});
    } else {
      double lon, lat;
      lon_lat(&lon, &lat);
      cmd.insert(cmd.end(), {"fromlonlat", Num(lon, 6), Num(lat, 6)});
    }
    // Radii from metres to a quarter of the Earth.
    double r = std::pow(10.0, uni(1, 7));
    if (rng() % 2) {
      cmd.insert(cmd.end(), {"byradius", Num(r, 3), "m"});
    } else {
      cmd.insert(cmd.end(), {"bybox", Num(r, 3), Num(r * uni(0.2, 3), 3), "m"});
    }
    cmd.push_back(rng() % 2 ? "asc" : "desc");
    if (rng() % 3 == 0) cmd.insert(cmd.end(), {"count", std::to_string(1 + rng() % 20)});
    cmd.insert(cmd.end(), {"withdist", "withcoord", "withhash"});
    Same(cmd);
  }
  // Unsorted results come in the order the cells and scores are visited.
  for (int i = 0; i < 100; ++i) {
    double lon, lat;
    lon_lat(&lon, &lat);
    Argv cmd{"georadius", "pts", Num(lon, 5), Num(lat, 5), Num(std::pow(10.0, uni(0, 4)), 2), units[rng() % 4]};
    if (rng() % 2) cmd.insert(cmd.end(), {"count", std::to_string(1 + rng() % 10), "any"});
    Same(cmd);
  }
}

}  // namespace
}  // namespace stratus
