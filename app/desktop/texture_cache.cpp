// Thumbnail textures (see texture_cache.h): plain GL 1.1 calls, available in every context.
#include "app/desktop/texture_cache.h"

#include <GL/gl.h>

namespace mvl::desktop {

unsigned TextureCache::texture(const std::string& path, const Thumbnail* thumb) {
  if (thumb == nullptr || thumb->width <= 0 || thumb->height <= 0) return 0;
  Entry& e = textures_[path];
  if (e.id != 0 && e.thumb == thumb) return e.id;
  if (e.id == 0) {
    GLuint id = 0;
    glGenTextures(1, &id);
    e.id = id;
  }
  e.thumb = thumb;
  glBindTexture(GL_TEXTURE_2D, e.id);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, thumb->width, thumb->height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
               thumb->rgba.data());
  return e.id;
}

void TextureCache::clear() {
  for (auto& [path, e] : textures_) {
    GLuint id = e.id;
    if (id != 0) glDeleteTextures(1, &id);
  }
  textures_.clear();
}

}  // namespace mvl::desktop
