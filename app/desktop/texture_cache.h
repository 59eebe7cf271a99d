// GL textures for image thumbnails, keyed by image path. Uploads happen lazily on the UI
// (GL context) thread while drawing; textures are deleted when the cache is cleared or
// destroyed, which must also happen while the GL context is current.
#pragma once

#include <map>
#include <string>

#include "app/desktop/thumbnail.h"

namespace mvl::desktop {

class TextureCache {
 public:
  TextureCache() = default;
  ~TextureCache() { clear(); }
  TextureCache(const TextureCache&) = delete;
  TextureCache& operator=(const TextureCache&) = delete;

  // The texture showing `thumb` (uploaded on first use or when the thumbnail for `path`
  // changed); 0 when thumb is null.
  unsigned texture(const std::string& path, const Thumbnail* thumb);
  void clear();

 private:
  struct Entry {
    const Thumbnail* thumb = nullptr;  // what was uploaded (identity only, never read)
    unsigned id = 0;
  };
  std::map<std::string, Entry> textures_;
};

}  // namespace mvl::desktop
