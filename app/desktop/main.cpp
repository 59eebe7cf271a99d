// minimax-vl-desktop: the GLFW + OpenGL 3 + Dear ImGui window around a ChatController.
// Owns the main loop: wait for input or an engine wake-up, poll the controller (drains
// engine events on this thread), draw the ChatView, render. Image files dropped on the
// window are attached. --self-test N renders N frames on a hidden window (exit 77 when
// there is no display), optionally loading a model and answering one message.
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>  // Debian ships the backends in libimgui.a
#include <backends/imgui_impl_opengl3.h>

#include <stb_image_write.h>  // Debian's libstb (imgui.pc requires it)

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "app/desktop/chat_controller.h"
#include "app/desktop/chat_view.h"
#include "app/desktop/texture_cache.h"
#include "app/engine/core/build_info.h"
#include "app/engine/loading/install_paths.h"

namespace {

using mvl::desktop::ChatController;
using mvl::desktop::ModelStatus;

constexpr int kExitSkipped = 77;  // ctest's SKIP_RETURN_CODE for the self-test

struct Flags {
  std::string model_dir;
  std::string device = "cpu";
  std::vector<std::string> images;  // attached once the model is ready
  int self_test_frames = 0;
  int64_t self_test_tokens = 8;     // the self-test answer's length (20000: the long-answer check)
  std::string screenshot;           // self-test: PNG of the last frame
  std::string font;
};

bool have_display() {
  const char* x = std::getenv("DISPLAY");
  const char* w = std::getenv("WAYLAND_DISPLAY");
  return (x != nullptr && *x != '\0') || (w != nullptr && *w != '\0');
}

// A TTF with more than ASCII when the system has one (ImGui's built-in font is ASCII only).
// A font given with --font also gets the common simplified Chinese glyphs. `ranges` must
// outlive the first frame (the atlas is built then).
void load_font(const std::string& requested, float scale, ImVector<ImWchar>& ranges) {
  ImGuiIO& io = ImGui::GetIO();
  static const ImWchar kWestern[] = {0x0020, 0x00FF, 0x0100, 0x024F, 0x0370, 0x03FF, 0x0400, 0x04FF,
                                     0x2000, 0x206F, 0x20A0, 0x20CF, 0x2100, 0x214F, 0};
  std::error_code ec;
  if (!requested.empty()) {
    ImFontGlyphRangesBuilder b;
    b.AddRanges(kWestern);
    b.AddRanges(io.Fonts->GetGlyphRangesChineseSimplifiedCommon());
    b.BuildRanges(&ranges);
    if (std::filesystem::is_regular_file(requested, ec) &&
        io.Fonts->AddFontFromFileTTF(requested.c_str(), 16.0f * scale, nullptr, ranges.Data))
      return;
    std::fprintf(stderr, "minimax-vl-desktop: warning: font '%s' could not be loaded; using the default\n",
                 requested.c_str());
  }
  const char* candidates[] = {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                              "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                              "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"};
  for (const char* path : candidates) {
    if (std::filesystem::is_regular_file(path, ec) && io.Fonts->AddFontFromFileTTF(path, 16.0f * scale, nullptr, kWestern))
      return;
  }
  ImFontConfig cfg;
  cfg.SizePixels = 13.0f * scale;
  io.Fonts->AddFontDefault(&cfg);
}

// The current framebuffer as a PNG (rows flipped: GL reads bottom-up).
bool write_screenshot(const std::string& path, int w, int h) {
  std::vector<unsigned char> px(static_cast<size_t>(w) * h * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, px.data());
  std::vector<unsigned char> flipped(px.size());
  const size_t row = static_cast<size_t>(w) * 4;
  for (int y = 0; y < h; ++y) std::copy_n(&px[static_cast<size_t>(h - 1 - y) * row], row, &flipped[static_cast<size_t>(y) * row]);
  return stbi_write_png(path.c_str(), w, h, 4, flipped.data(), static_cast<int>(row)) != 0;
}

void on_drop(GLFWwindow* window, int count, const char** paths) {
  auto* c = static_cast<ChatController*>(glfwGetWindowUserPointer(window));
  for (int i = 0; i < count && c != nullptr; ++i) c->attach_image(paths[i]);
}

int run(const Flags& f) {
  const bool self_test = f.self_test_frames > 0;
  if (self_test && !have_display()) {
    std::fprintf(stderr, "minimax-vl-desktop: self-test skipped: no display (DISPLAY/WAYLAND_DISPLAY unset)\n");
    return kExitSkipped;
  }
  glfwSetErrorCallback([](int code, const char* msg) { std::fprintf(stderr, "minimax-vl-desktop: GLFW error %d: %s\n", code, msg); });
  if (!glfwInit()) {
    std::fprintf(stderr, "minimax-vl-desktop: cannot open a window (no display?); the CLI 'minimax-vl chat' works without one\n");
    return self_test ? kExitSkipped : 1;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  if (self_test) glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
  GLFWwindow* window = glfwCreateWindow(1280, 800, "MiniMax-VL", nullptr, nullptr);
  if (window == nullptr) {
    glfwTerminate();
    std::fprintf(stderr, "minimax-vl-desktop: cannot create an OpenGL 3.0 window\n");
    return self_test ? kExitSkipped : 1;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(1);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // no imgui.ini dropped into the working directory
  io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
  float xs = 1.0f, ys = 1.0f;
  glfwGetWindowContentScale(window, &xs, &ys);
  const float scale = std::max(1.0f, xs);
  ImGui::StyleColorsDark();
  ImGui::GetStyle().ScaleAllSizes(scale);
  ImVector<ImWchar> glyph_ranges;
  load_font(f.font, scale, glyph_ranges);
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 130");

  int rc = 0;
  {
    // Destroyed before the GL context and GLFW: the controller joins the engine's worker
    // (whose wake-ups call glfwPostEmptyEvent) and the texture cache deletes its textures.
    ChatController controller;
    controller.set_wakeup([] { glfwPostEmptyEvent(); });
    mvl::desktop::TextureCache textures;
    mvl::desktop::ChatView view(controller, textures, f.model_dir, f.device);
    glfwSetWindowUserPointer(window, &controller);
    glfwSetDropCallback(window, on_drop);

    if (!f.model_dir.empty()) {
      mvl::engine::EngineOptions o;
      o.model_dir = f.model_dir;
      mvl::desktop::parse_device(f.device, o);
      controller.load_model(o);
    }
    // Self-test script: with a model, answer one short message before the frames run out.
    bool sent = false;
    bool attached = f.images.empty();
    const auto t0 = std::chrono::steady_clock::now();
    int last_w = 0, last_h = 0;
    auto render_frame = [&] {
      ImGui_ImplOpenGL3_NewFrame();
      ImGui_ImplGlfw_NewFrame();
      ImGui::NewFrame();
      view.draw();
      ImGui::Render();
      glfwGetFramebufferSize(window, &last_w, &last_h);
      glViewport(0, 0, last_w, last_h);
      glClearColor(0.08f, 0.08f, 0.09f, 1.0f);
      glClear(GL_COLOR_BUFFER_BIT);
      ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    };
    for (int frame = 0; !glfwWindowShouldClose(window); ++frame) {
      if (self_test) {
        glfwPollEvents();
        const bool waiting = !f.model_dir.empty() && (controller.model_status().state == ModelStatus::State::loading ||
                                                      controller.generating() || (controller.model_ready() && !sent));
        if (frame >= f.self_test_frames && !waiting) break;
        if (std::chrono::steady_clock::now() - t0 >
            std::chrono::seconds(90 + f.self_test_tokens / 100)) {
          std::fprintf(stderr, "minimax-vl-desktop: self-test timed out\n");
          rc = 1;
          break;
        }
        if (controller.model_ready() && !sent && attached) {
          controller.settings().max_tokens = f.self_test_tokens;
          controller.draft() = "Hello! Describe yourself in one line.";
          sent = controller.send();
          if (!sent) break;
        }
      } else {
        glfwWaitEventsTimeout(controller.generating() ? 0.05 : 0.25);
      }
      controller.poll();
      if (!attached && controller.model_ready()) {
        for (const auto& img : f.images) controller.attach_image(img);  // errors show inline
        attached = true;
      }
      render_frame();
      glfwSwapBuffers(window);
    }
    if (self_test && !f.screenshot.empty()) {
      render_frame();  // read back before the swap, while the back buffer holds the frame
      if (write_screenshot(f.screenshot, last_w, last_h)) {
        std::fprintf(stderr, "minimax-vl-desktop: wrote %s\n", f.screenshot.c_str());
      } else {
        std::fprintf(stderr, "minimax-vl-desktop: cannot write %s\n", f.screenshot.c_str());
        rc = 1;
      }
    }
    if (self_test) {
      const ModelStatus& m = controller.model_status();
      if (m.state == ModelStatus::State::failed) {
        std::fprintf(stderr, "minimax-vl-desktop: self-test: model load failed: %s\n", m.error.c_str());
        rc = 1;
      } else if (!controller.error().empty()) {
        std::fprintf(stderr, "minimax-vl-desktop: self-test: %s\n", controller.error().c_str());
        rc = 1;
      } else if (!f.model_dir.empty() && (!sent || controller.entries().size() != 2 || !controller.entries()[1].stats)) {
        std::fprintf(stderr, "minimax-vl-desktop: self-test: the message was not answered\n");
        rc = 1;
      }
      if (rc == 0) {
        std::fprintf(stderr, "minimax-vl-desktop: self-test passed (%d frames%s)\n", f.self_test_frames,
                     sent ? ", one answer streamed" : "");
        if (sent)
          std::fprintf(stderr, "  %s; %zu characters on screen\n",
                       mvl::desktop::stats_line(*controller.entries()[1].stats).c_str(),
                       controller.entries()[1].text.size());
      }
    }
    glfwSetWindowUserPointer(window, nullptr);
  }

  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "minimax-vl-desktop: chat with MiniMax-VL-01 (text and images) in a window.\n"
      "  minimax-vl-desktop -m /models/MiniMax-VL-01 --device cuda\n"
      "Enter sends, Shift+Enter newline, Esc stops, Ctrl+R regenerates, Ctrl+N new chat;\n"
      "drop image files on the window to attach them. Docs: docs/desktop.md",
      "minimax-vl-desktop"};
  Flags f;
  app.add_option("-m,--model", f.model_dir,
                 "Checkpoint folder to load at start (config.json, tokenizer.json, *.safetensors); "
                 "default: the bundled demo model")
      ->type_name("DIR");
  app.add_option("--device", f.device, "Where the model runs: cpu, cuda or cuda:N")->type_name("DEVICE")->capture_default_str();
  app.add_option("-i,--image", f.images, "Image to attach once the model is loaded; repeatable")
      ->type_name("PATH")
      ->allow_extra_args(false);
  std::vector<std::string> positional;  // files opened from a file manager (the .desktop entry's %F)
  app.add_option("files", positional, "Images to attach, like --image")->type_name("IMAGE");
  app.add_option("--font", f.font, "TTF font file for the UI (default: DejaVu Sans when installed)")->type_name("FILE");
  app.add_option("--self-test", f.self_test_frames,
                 "Render N frames on a hidden window and exit (77 = skipped: no display); with -m, also load the "
                 "model and answer one message")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  app.add_option(
         "--self-test-tokens", f.self_test_tokens,
         "With --self-test and -m: the answer's length in tokens (default 8; 20000 checks that "
         "long answers render)")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  app.set_version_flag("--version", mvl::engine::version_text("minimax-vl-desktop"));
  app.add_option("--screenshot", f.screenshot, "With --self-test: save the last frame as a PNG")->type_name("FILE");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  f.images.insert(f.images.end(), positional.begin(), positional.end());
  // No -m: the bundled demo model, as the CLI does (the .desktop entry passes no -m). The
  // bare --self-test (no -m) stays a render-only check.
  if (f.model_dir.empty() && f.self_test_frames == 0)
    f.model_dir = mvl::engine::bundled_model_dir();
  try {
    mvl::engine::EngineOptions probe;
    mvl::desktop::parse_device(f.device, probe);  // a bad --device is a usage error
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minimax-vl-desktop: error: %s\n", e.what());
    return 2;
  }
  try {
    return run(f);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minimax-vl-desktop: error: %s\n", e.what());
    return 1;
  }
}
