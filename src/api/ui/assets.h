// The dashboard's static files (src/api/ui/assets/), built into the binary by
// cmake/embed_assets.cmake: no file is read at run time, so no request can reach the disk.
#pragma once

#include <string_view>
#include <vector>

namespace stratus::api::ui {

struct EmbeddedFile {
  std::string_view path;  // relative to src/api/ui/assets/, e.g. "app.js"
  std::string_view bytes;
};

const std::vector<EmbeddedFile>& EmbeddedAssets();

}  // namespace stratus::api::ui
