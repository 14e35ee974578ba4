// Structured logs: one JSON object per line on stderr. Callers never pass bodies,
// Authorization headers or tokens.
#pragma once

#include "common/json.h"

namespace stratus {

void LogJson(Json fields);
void SetLogEnabled(bool enabled);

}  // namespace stratus
