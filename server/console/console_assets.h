#pragma once
// The console's static files (server/console/assets), compiled into the
// binary at build time (cmake/embed_assets.cmake): no files to deploy, no
// network at run time.

#include <string>
#include <vector>

namespace campaignq::server::console {

struct Asset {
  const char* path;          // URL path, e.g. "/app.js"
  const char* content_type;  // e.g. "text/javascript; charset=utf-8"
  const char* body;
};

// Defined in the generated console_assets.cc.
const std::vector<Asset>& EmbeddedAssets();

// The asset served at `path` ("/" is "/index.html"); null when none.
const Asset* FindAsset(const std::string& path);

}  // namespace campaignq::server::console
