// Geo: GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE and the older GEORADIUS
// forms, on the sorted-set type. A point's score is Redis's 52-bit geohash: 26 bits of
// latitude (over -85.05112878..85.05112878) and 26 of longitude, interleaved latitude first in
// the even bits, so a GEOADD here and on redis-server give the same ZRANGE WITHSCORES. A search
// covers the centre cell and its eight neighbours at a precision chosen from the radius, then
// filters by the exact distance, visiting cells and points in the order Redis does, so replies
// (their order too) match Redis 7.0's.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "kv/families/family.h"

namespace stratus::kv {
namespace {

constexpr double kLatMin = -85.05112878;
constexpr double kLatMax = 85.05112878;
constexpr double kLonMin = -180;
constexpr double kLonMax = 180;
constexpr int kStepMax = 26;
constexpr double kEarthRadiusM = 6372797.560856;  // Redis's mean radius for WGS-84
constexpr double kMercatorMax = 20037726.37;

struct Cell {
  uint64_t bits = 0;
  int step = 0;
  bool zero() const { return bits == 0 && step == 0; }
};

struct Area {
  double lat_min, lat_max, lon_min, lon_max;
};

// Spreads the low 32 bits of v to the even bit positions.
uint64_t Spread(uint64_t v) {
  v = (v | (v << 16)) & 0x0000FFFF0000FFFFULL;
  v = (v | (v << 8)) & 0x00FF00FF00FF00FFULL;
  v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0FULL;
  v = (v | (v << 2)) & 0x3333333333333333ULL;
  v = (v | (v << 1)) & 0x5555555555555555ULL;
  return v;
}

// The inverse of Spread: the even bits of v, packed.
uint32_t Squash(uint64_t v) {
  v &= 0x5555555555555555ULL;
  v = (v | (v >> 1)) & 0x3333333333333333ULL;
  v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
  v = (v | (v >> 4)) & 0x00FF00FF00FF00FFULL;
  v = (v | (v >> 8)) & 0x0000FFFF0000FFFFULL;
  v = (v | (v >> 16)) & 0x00000000FFFFFFFFULL;
  return static_cast<uint32_t>(v);
}

// Encodes over the given ranges; false outside Redis's indexable area.
bool Encode(double lon, double lat, double lat_lo, double lat_hi, int step, Cell* out) {
  if (lon > kLonMax || lon < kLonMin || lat > kLatMax || lat < kLatMin) return false;
  if (lat < lat_lo || lat > lat_hi) return false;
  double lat_off = (lat - lat_lo) / (lat_hi - lat_lo) * static_cast<double>(1ULL << step);
  double lon_off = (lon - kLonMin) / (kLonMax - kLonMin) * static_cast<double>(1ULL << step);
  out->step = step;
  out->bits = Spread(static_cast<uint32_t>(lat_off)) | (Spread(static_cast<uint32_t>(lon_off)) << 1);
  return true;
}

bool EncodeWgs84(double lon, double lat, int step, Cell* out) {
  return Encode(lon, lat, kLatMin, kLatMax, step, out);
}

Area Decode(const Cell& c, double lat_lo = kLatMin, double lat_hi = kLatMax) {
  double lat_scale = lat_hi - lat_lo;
  double lon_scale = kLonMax - kLonMin;
  uint32_t ilat = Squash(c.bits);
  uint32_t ilon = Squash(c.bits >> 1);
  double div = static_cast<double>(1ULL << c.step);
  return Area{
      lat_lo + (ilat * 1.0 / div) * lat_scale,
      lat_lo + ((ilat + 1.0) / div) * lat_scale,
      kLonMin + (ilon * 1.0 / div) * lon_scale,
      kLonMin + ((ilon + 1.0) / div) * lon_scale,
  };
}

// The centre of a 52-bit score's cell, as Redis reports a point: {lon, lat}.
void ScoreToLonLat(double score, double xy[2]) {
  Area a = Decode(Cell{static_cast<uint64_t>(score), kStepMax});
  xy[0] = std::clamp((a.lon_min + a.lon_max) / 2, kLonMin, kLonMax);
  xy[1] = std::clamp((a.lat_min + a.lat_max) / 2, kLatMin, kLatMax);
}

uint64_t Align52(const Cell& c) {
  return c.bits << (52 - c.step * 2);
}

// Moves a cell one step east/west (dx) or north/south (dy), wrapping as Redis's does.
void MoveX(Cell* c, int d) {
  uint64_t x = c->bits & 0xaaaaaaaaaaaaaaaaULL;
  uint64_t y = c->bits & 0x5555555555555555ULL;
  uint64_t zz = 0x5555555555555555ULL >> (64 - c->step * 2);
  if (d > 0) {
    x = x + (zz + 1);
  } else {
    x = x | zz;
    x = x - (zz + 1);
  }
  x &= (0xaaaaaaaaaaaaaaaaULL >> (64 - c->step * 2));
  c->bits = x | y;
}

void MoveY(Cell* c, int d) {
  uint64_t x = c->bits & 0xaaaaaaaaaaaaaaaaULL;
  uint64_t y = c->bits & 0x5555555555555555ULL;
  uint64_t zz = 0xaaaaaaaaaaaaaaaaULL >> (64 - c->step * 2);
  if (d > 0) {
    y = y + (zz + 1);
  } else {
    y = y | zz;
    y = y - (zz + 1);
  }
  y &= (0x5555555555555555ULL >> (64 - c->step * 2));
  c->bits = x | y;
}

Cell Moved(Cell c, int dx, int dy) {
  if (dx) MoveX(&c, dx);
  if (dy) MoveY(&c, dy);
  return c;
}

double Rad(double deg) {
  return deg * (M_PI / 180.0);
}
double Deg(double rad) {
  return rad / (M_PI / 180.0);
}

// Haversine great-circle distance in metres, in Redis 7.0's arithmetic.
double Distance(double lon1, double lat1, double lon2, double lat2) {
  double lat1r = Rad(lat1), lon1r = Rad(lon1), lat2r = Rad(lat2), lon2r = Rad(lon2);
  double u = std::sin((lat2r - lat1r) / 2);
  double v = std::sin((lon2r - lon1r) / 2);
  return 2.0 * kEarthRadiusM * std::asin(std::sqrt(u * u + std::cos(lat1r) * std::cos(lat2r) * v * v));
}

int EstimateSteps(double range_m, double lat) {
  if (range_m == 0) return 26;
  int step = 1;
  while (range_m < kMercatorMax) {
    range_m *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  return std::clamp(step, 1, 26);
}

struct Shape {
  bool box = false;
  double xy[2] = {0, 0};
  double conversion = 1;  // metres per unit
  double radius = 0;
  double width = 0, height = 0;
};

// The centre cell and its neighbours in Redis's visiting order (self, N, S, E, W, NE, NW, SE,
// SW), those that cannot hold a match zeroed.
std::array<Cell, 9> SearchCells(const Shape& s) {
  double lon = s.xy[0], lat = s.xy[1];
  double half_h = s.conversion * (s.box ? s.height / 2 : s.radius);
  double half_w = s.conversion * (s.box ? s.width / 2 : s.radius);
  double lat_delta = Deg(half_h / kEarthRadiusM);
  double lon_delta_top = Deg(half_w / kEarthRadiusM / std::cos(Rad(lat + lat_delta)));
  double lon_delta_bottom = Deg(half_w / kEarthRadiusM / std::cos(Rad(lat - lat_delta)));
  bool south = lat < 0;
  double min_lon = south ? lon - lon_delta_bottom : lon - lon_delta_top;
  double max_lon = south ? lon + lon_delta_bottom : lon + lon_delta_top;
  double min_lat = lat - lat_delta;
  double max_lat = lat + lat_delta;

  double radius_m = s.box ? std::sqrt((s.width / 2) * (s.width / 2) + (s.height / 2) * (s.height / 2)) : s.radius;
  radius_m *= s.conversion;
  int steps = EstimateSteps(radius_m, lat);

  Cell hash;
  auto neighbours = [&](std::array<Cell, 9>& n) {
    EncodeWgs84(lon, lat, steps, &hash);
    n = {hash,
         Moved(hash, 0, 1),
         Moved(hash, 0, -1),
         Moved(hash, 1, 0),
         Moved(hash, -1, 0),
         Moved(hash, 1, 1),
         Moved(hash, -1, 1),
         Moved(hash, 1, -1),
         Moved(hash, -1, -1)};
  };
  std::array<Cell, 9> n;
  neighbours(n);
  // A step too coarse when the area reaches past a neighbour: one step coarser.
  bool decrease = Decode(n[1]).lat_max < max_lat || Decode(n[2]).lat_min > min_lat || Decode(n[3]).lon_max < max_lon ||
                  Decode(n[4]).lon_min > min_lon;
  if (steps > 1 && decrease) {
    steps--;
    neighbours(n);
  }
  Area area = Decode(hash);
  if (steps >= 2) {
    if (area.lat_min < min_lat) n[2] = n[8] = n[7] = Cell{};
    if (area.lat_max > max_lat) n[1] = n[5] = n[6] = Cell{};
    if (area.lon_min < min_lon) n[4] = n[8] = n[6] = Cell{};
    if (area.lon_max > max_lon) n[3] = n[7] = n[5] = Cell{};
  }
  return n;
}

struct Point {
  const std::string* member;
  double score;
  double lon, lat;
  double dist;
};

// Appends the point when it lies within the shape (distance in metres).
bool AppendIfWithin(const Shape& s, double score, const std::string* member, std::vector<Point>* out) {
  double xy[2];
  ScoreToLonLat(score, xy);
  double dist;
  if (!s.box) {
    dist = Distance(s.xy[0], s.xy[1], xy[0], xy[1]);
    if (dist > s.radius * s.conversion) return false;
  } else {
    double lon_dist = Distance(xy[0], xy[1], s.xy[0], xy[1]);
    double lat_dist = Distance(xy[0], xy[1], xy[0], s.xy[1]);
    if (lon_dist > s.width * s.conversion / 2 || lat_dist > s.height * s.conversion / 2) return false;
    dist = Distance(s.xy[0], s.xy[1], xy[0], xy[1]);
  }
  out->push_back(Point{member, score, xy[0], xy[1], dist});
  return true;
}

// Every point in the cells (in score order per cell); with limit > 0 stops once it has that many.
std::vector<Point> PointsInShape(const ZSet& z, const Shape& s, size_t limit) {
  std::array<Cell, 9> cells = SearchCells(s);
  std::vector<Point> out;
  size_t last = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i].zero()) continue;
    // A huge radius can make adjacent neighbours the same cell: visit it once.
    if (last && cells[i].bits == cells[last].bits && cells[i].step == cells[last].step) continue;
    if (!out.empty() && limit && out.size() >= limit) break;
    double min = static_cast<double>(Align52(cells[i]));
    Cell next = cells[i];
    next.bits++;
    double max = static_cast<double>(Align52(next));
    for (auto it = z.order.lower_bound({min, std::string()}); it != z.order.end() && it->first < max; ++it) {
      AppendIfWithin(s, it->first, &it->second, &out);
      if (!out.empty() && limit && out.size() >= limit) break;
    }
    last = i;
  }
  return out;
}

// Redis's addReplyHumanLongDouble: "%.17Lf" without trailing zeros.
std::string HumanDouble(double d) {
  char buf[128];
  int n = std::snprintf(buf, sizeof buf, "%.17Lf", static_cast<long double>(d));
  std::string out(buf, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

std::string DistanceText(double d) {
  char buf[128];
  int n = std::snprintf(buf, sizeof buf, "%.4f", d);
  return std::string(buf, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
}

// Redis's getDoubleFromObjectOrReply with its optional message.
bool GeoDouble(CommandContext& ctx, const std::string& arg, double* out, std::string_view msg = {}) {
  auto v = ParseDouble(arg);
  if (!v) {
    ctx.Error(msg.empty() ? err::kNotFloat : msg);
    return false;
  }
  *out = *v;
  return true;
}

bool LonLat(CommandContext& ctx, const Argv& a, size_t i, double xy[2]) {
  if (!GeoDouble(ctx, a[i], &xy[0]) || !GeoDouble(ctx, a[i + 1], &xy[1])) return false;
  if (xy[0] < kLonMin || xy[0] > kLonMax || xy[1] < kLatMin || xy[1] > kLatMax) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
    ctx.Error(buf);
    return false;
  }
  return true;
}

// Metres per unit, or a negative number after replying with the error.
double Unit(CommandContext& ctx, const std::string& u) {
  if (IEquals(u, "m")) return 1;
  if (IEquals(u, "km")) return 1000;
  if (IEquals(u, "ft")) return 0.3048;
  if (IEquals(u, "mi")) return 1609.34;
  ctx.Error("ERR unsupported unit provided. please use M, KM, FT, MI");
  return -1;
}

bool DistanceArg(CommandContext& ctx, const Argv& a, size_t i, Shape* s) {
  double d;
  if (!GeoDouble(ctx, a[i], &d, "ERR need numeric radius")) return false;
  if (d < 0) {
    ctx.Error("ERR radius cannot be negative");
    return false;
  }
  s->radius = d;
  double conv = Unit(ctx, a[i + 1]);
  if (conv < 0) return false;
  s->conversion = conv;
  return true;
}

bool BoxArg(CommandContext& ctx, const Argv& a, size_t i, Shape* s) {
  double w, h;
  if (!GeoDouble(ctx, a[i], &w, "ERR need numeric width") || !GeoDouble(ctx, a[i + 1], &h, "ERR need numeric height"))
    return false;
  if (h < 0 || w < 0) {
    ctx.Error("ERR height or width cannot be negative");
    return false;
  }
  s->width = w;
  s->height = h;
  double conv = Unit(ctx, a[i + 2]);
  if (conv < 0) return false;
  s->conversion = conv;
  return true;
}

bool MemberLonLat(const ZSet& z, const std::string& member, double xy[2]) {
  auto it = z.scores.find(member);
  if (it == z.scores.end()) return false;
  ScoreToLonLat(it->second, xy);
  return true;
}

// GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD of the encoded scores,
// logged as the ZADD of what changed.
void GeoAdd(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  bool nx = false, xx = false, ch = false;
  size_t i = 2;
  for (; i < a.size(); ++i) {
    if (IEquals(a[i], "nx")) {
      nx = true;
    } else if (IEquals(a[i], "xx")) {
      xx = true;
    } else if (IEquals(a[i], "ch")) {
      ch = true;
    } else {
      break;
    }
  }
  if ((a.size() - i) % 3 != 0 || i == a.size() || (nx && xx)) return ctx.Error(err::kSyntax);
  std::vector<std::pair<double, const std::string*>> points;
  for (size_t j = i; j < a.size(); j += 3) {
    double xy[2];
    if (!LonLat(ctx, a, j, xy)) return;
    Cell c;
    EncodeWgs84(xy[0], xy[1], kStepMax, &c);
    points.emplace_back(static_cast<double>(Align52(c)), &a[j + 2]);
  }
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  if (!z && !xx && !points.empty()) z = &std::get<ZSet>(ctx.db.Set(a[1], ZSet{}).value);
  int64_t added = 0, changed = 0;
  Argv record{"ZADD", a[1]};
  if (z) {
    for (const auto& [score, member] : points) {
      auto it = z->scores.find(*member);
      if (it == z->scores.end()) {
        if (xx) continue;
        ++added;
      } else {
        if (nx || it->second == score) continue;
        ++changed;
      }
      z->Set(*member, score);
      record.push_back(std::to_string(static_cast<uint64_t>(score)));
      record.push_back(*member);
    }
    if (z->size() == 0) ctx.db.Erase(a[1]);
  }
  if (record.size() > 2) {
    ctx.Propagate(std::move(record));
  } else {
    ctx.NoPropagate();
  }
  ctx.reply = Reply::Integer(ch ? added + changed : added);
}

// GEODIST key member1 member2 [unit]
void GeoDist(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  double to_m = 1;
  if (a.size() == 5) {
    to_m = Unit(ctx, a[4]);
    if (to_m < 0) return;
  } else if (a.size() > 5) {
    return ctx.Error(err::kSyntax);
  }
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  double p[2], q[2];
  if (!z || !MemberLonLat(*z, a[2], p) || !MemberLonLat(*z, a[3], q)) {
    ctx.reply = Reply::Nil();
    return;
  }
  ctx.reply = Reply::Bulk(DistanceText(Distance(p[0], p[1], q[0], q[1]) / to_m));
}

// GEOHASH key member [...]: the standard 11-character geohash (latitude over -90..90).
void GeoHash(CommandContext& ctx) {
  static constexpr char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  const Argv& a = ctx.argv;
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  std::vector<Reply> out;
  for (size_t i = 2; i < a.size(); ++i) {
    double xy[2];
    if (!z || !MemberLonLat(*z, a[i], xy)) {
      out.push_back(Reply::Nil());
      continue;
    }
    Cell c;
    if (!Encode(xy[0], xy[1], -90, 90, kStepMax, &c)) c = Cell{0, kStepMax};
    // The standard geohash starts with a longitude bit: the odd, higher bit of each pair here.
    std::string s(11, '0');
    for (int k = 0; k < 10; ++k) s[k] = kAlphabet[(c.bits >> (52 - (k + 1) * 5)) & 0x1f];
    s[10] = kAlphabet[0];  // 52 bits make ten characters; Redis pads the eleventh with 0
    out.push_back(Reply::Bulk(std::move(s)));
  }
  ctx.reply = Reply::Array(std::move(out));
}

// GEOPOS key member [...]
void GeoPos(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  ZSet* z;
  if (!LookupAs(ctx, a[1], &z)) return;
  std::vector<Reply> out;
  for (size_t i = 2; i < a.size(); ++i) {
    double xy[2];
    if (!z || !MemberLonLat(*z, a[i], xy)) {
      out.push_back(Reply::NilArray());
      continue;
    }
    out.push_back(Reply::Array({Reply::Bulk(HumanDouble(xy[0])), Reply::Bulk(HumanDouble(xy[1]))}));
  }
  ctx.reply = Reply::Array(std::move(out));
}

enum SearchFlags : unsigned {
  kByCoords = 1u << 0,  // GEORADIUS: longitude latitude radius unit
  kByMember = 1u << 1,  // GEORADIUSBYMEMBER: member radius unit
  kNoStore = 1u << 2,   // the _RO forms
  kSearch = 1u << 3,    // GEOSEARCH's FROM*/BY* arguments
  kSearchStore = 1u << 4,
};

// The one search behind GEORADIUS*, GEOSEARCH and GEOSEARCHSTORE, with Redis 7.0's argument
// order, checks and error texts.
void SearchGeneric(CommandContext& ctx, size_t src, unsigned flags) {
  const Argv& a = ctx.argv;
  const std::string* store = nullptr;
  bool storedist = false;
  ZSet* z;
  if (!LookupAs(ctx, a[src], &z)) return;
  Shape s;
  size_t base;
  if (flags & kByCoords) {
    base = 6;
    if (!LonLat(ctx, a, 2, s.xy)) return;
    if (!DistanceArg(ctx, a, 4, &s)) return;
  } else if ((flags & kByMember) && !z) {
    base = 5;
  } else if (flags & kByMember) {
    base = 5;
    if (!MemberLonLat(*z, a[2], s.xy)) return ctx.Error("ERR could not decode requested zset member");
    if (!DistanceArg(ctx, a, 3, &s)) return;
  } else {
    base = 2;
    if (flags & kSearchStore) {
      base = 3;
      store = &a[1];
    }
  }
  bool withdist = false, withhash = false, withcoord = false, any = false;
  bool frommember = false, fromloc = false, byradius = false, bybox = false;
  int sort = 0;  // 0 none, 1 asc, 2 desc
  int64_t count = 0;
  size_t remaining = a.size() > base ? a.size() - base : 0;
  for (size_t i = 0; i < remaining; ++i) {
    const std::string& arg = a[base + i];
    if (IEquals(arg, "withdist")) {
      withdist = true;
    } else if (IEquals(arg, "withhash")) {
      withhash = true;
    } else if (IEquals(arg, "withcoord")) {
      withcoord = true;
    } else if (IEquals(arg, "any")) {
      any = true;
    } else if (IEquals(arg, "asc")) {
      sort = 1;
    } else if (IEquals(arg, "desc")) {
      sort = 2;
    } else if (IEquals(arg, "count") && i + 1 < remaining) {
      if (!ArgInt(ctx, a[base + i + 1], &count)) return;
      if (count <= 0) return ctx.Error("ERR COUNT must be > 0");
      i++;
    } else if ((IEquals(arg, "store") || IEquals(arg, "storedist")) && i + 1 < remaining && !(flags & kNoStore) &&
               !(flags & kSearch)) {
      store = &a[base + i + 1];
      storedist = IEquals(arg, "storedist");
      i++;
    } else if (IEquals(arg, "storedist") && (flags & kSearch) && (flags & kSearchStore)) {
      storedist = true;
    } else if (IEquals(arg, "frommember") && i + 1 < remaining && (flags & kSearch) && !fromloc) {
      if (z && !MemberLonLat(*z, a[base + i + 1], s.xy)) return ctx.Error("ERR could not decode requested zset member");
      frommember = true;
      i++;
    } else if (IEquals(arg, "fromlonlat") && i + 2 < remaining && (flags & kSearch) && !frommember) {
      if (!LonLat(ctx, a, base + i + 1, s.xy)) return;
      fromloc = true;
      i += 2;
    } else if (IEquals(arg, "byradius") && i + 2 < remaining && (flags & kSearch) && !bybox) {
      if (!DistanceArg(ctx, a, base + i + 1, &s)) return;
      s.box = false;
      byradius = true;
      i += 2;
    } else if (IEquals(arg, "bybox") && i + 3 < remaining && (flags & kSearch) && !byradius) {
      if (!BoxArg(ctx, a, base + i + 1, &s)) return;
      s.box = true;
      bybox = true;
      i += 3;
    } else {
      return ctx.Error(err::kSyntax);
    }
  }
  if (store && (withdist || withhash || withcoord)) {
    return ctx.Error(std::string("ERR ") + ((flags & kSearchStore) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS") +
                     " is not compatible with WITHDIST, WITHHASH and WITHCOORD options");
  }
  if ((flags & kSearch) && !(frommember || fromloc)) {
    return ctx.Error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + a[0]);
  }
  if ((flags & kSearch) && !(byradius || bybox)) {
    return ctx.Error("ERR exactly one of BYRADIUS and BYBOX can be specified for " + a[0]);
  }
  if (any && !count) return ctx.Error("ERR the ANY argument requires COUNT argument");
  if (!z) {
    if (store) {
      if (ctx.db.Erase(*store)) ctx.Dirty();
      ctx.reply = Reply::Integer(0);
    } else {
      ctx.reply = Reply::Array({});
    }
    return;
  }
  if (count != 0 && sort == 0 && !any) sort = 1;
  std::vector<Point> found = PointsInShape(*z, s, any ? static_cast<size_t>(count) : 0);
  size_t returned =
      count == 0 || found.size() < static_cast<uint64_t>(count) ? found.size() : static_cast<size_t>(count);
  if (sort == 1) {
    std::stable_sort(found.begin(), found.end(), [](const Point& x, const Point& y) { return x.dist < y.dist; });
  } else if (sort == 2) {
    std::stable_sort(found.begin(), found.end(), [](const Point& x, const Point& y) { return x.dist > y.dist; });
  }
  found.resize(returned);
  if (!store) {
    std::vector<Reply> out;
    out.reserve(found.size());
    bool nested = withdist || withhash || withcoord;
    for (const Point& p : found) {
      if (!nested) {
        out.push_back(Reply::Bulk(*p.member));
        continue;
      }
      std::vector<Reply> item{Reply::Bulk(*p.member)};
      if (withdist) item.push_back(Reply::Bulk(DistanceText(p.dist / s.conversion)));
      if (withhash) item.push_back(Reply::Integer(static_cast<int64_t>(p.score)));
      if (withcoord) item.push_back(Reply::Array({Reply::Bulk(HumanDouble(p.lon)), Reply::Bulk(HumanDouble(p.lat))}));
      out.push_back(Reply::Array(std::move(item)));
    }
    ctx.reply = Reply::Array(std::move(out));
    return;
  }
  ZSet result;
  for (const Point& p : found) result.Set(*p.member, storedist ? p.dist / s.conversion : p.score);
  if (result.size() > 0) {
    // Logged as the stored set itself, so a replay never depends on the source's state.
    Argv record{"ZADD", *store};
    Argv del{"DEL", *store};
    for (const auto& [score, member] : result.order) {
      record.push_back(FormatDouble(score));
      record.push_back(member);
    }
    ctx.db.Set(*store, std::move(result));
    ctx.Propagate(std::move(del));
    ctx.Propagate(std::move(record));
  } else if (ctx.db.Erase(*store)) {
    ctx.Propagate({"DEL", *store});
  }
  ctx.reply = Reply::Integer(static_cast<int64_t>(returned));
}

void GeoRadius(CommandContext& ctx) {
  SearchGeneric(ctx, 1, kByCoords);
}
void GeoRadiusByMember(CommandContext& ctx) {
  SearchGeneric(ctx, 1, kByMember);
}
void GeoRadiusRo(CommandContext& ctx) {
  SearchGeneric(ctx, 1, kByCoords | kNoStore);
}
void GeoRadiusByMemberRo(CommandContext& ctx) {
  SearchGeneric(ctx, 1, kByMember | kNoStore);
}
void GeoSearch(CommandContext& ctx) {
  SearchGeneric(ctx, 1, kSearch);
}
void GeoSearchStore(CommandContext& ctx) {
  SearchGeneric(ctx, 2, kSearch | kSearchStore);
}

}  // namespace

Status RegisterGeoFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           CommandSpec{.name = "geoadd", .arity = -5, .flags = kWrite, .handler = GeoAdd},
           CommandSpec{.name = "geodist", .arity = -4, .flags = kReadOnly, .handler = GeoDist},
           CommandSpec{.name = "geohash", .arity = -2, .flags = kReadOnly, .handler = GeoHash},
           CommandSpec{.name = "geopos", .arity = -2, .flags = kReadOnly, .handler = GeoPos},
           CommandSpec{.name = "georadius", .arity = -6, .flags = kWrite, .handler = GeoRadius},
           CommandSpec{.name = "georadiusbymember", .arity = -5, .flags = kWrite, .handler = GeoRadiusByMember},
           CommandSpec{.name = "georadius_ro", .arity = -6, .flags = kReadOnly, .handler = GeoRadiusRo},
           CommandSpec{.name = "georadiusbymember_ro", .arity = -5, .flags = kReadOnly, .handler = GeoRadiusByMemberRo},
           CommandSpec{.name = "geosearch", .arity = -7, .flags = kReadOnly, .handler = GeoSearch},
           CommandSpec{.name = "geosearchstore", .arity = -8, .flags = kWrite, .handler = GeoSearchStore},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv
