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
#include "app/desktop/conversation_store.h"
#include "app/desktop/fonts.h"
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
  int tp = 1;                       // tensor-parallel ranks of the text model
  std::vector<std::string> images;  // attached once the model is ready
  int self_test_frames = 0;
  int64_t self_test_tokens = 8;     // the self-test answer's length (20000: the long-answer check)
  std::string screenshot;           // self-test: PNG of the last frame
  std::string font;
  std::string conversations_dir;    // "" = the XDG data dir (none during --self-test)
  std::string open_id;              // a saved conversation to reopen at start
  int64_t max_image_tokens = 0;     // the budget slider's start value
  std::string self_test_message = "Hello! \xE4\xBD\xA0\xE5\xA5\xBD. Describe yourself in **one** line.";
};

bool have_display() {
  const char* x = std::getenv("DISPLAY");
  const char* w = std::getenv("WAYLAND_DISPLAY");
  return (x != nullptr && *x != '\0') || (w != nullptr && *w != '\0');
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
  const mvl::desktop::LoadedFonts fonts = mvl::desktop::load_fonts(f.font, scale);
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
    view.set_mono_font(fonts.mono);
    const std::string conv_dir = !f.conversations_dir.empty() ? f.conversations_dir
                                 : self_test ? std::string()
                                             : mvl::desktop::ConversationStore::default_dir();
    if (!conv_dir.empty()) controller.set_store(std::make_shared<mvl::desktop::ConversationStore>(conv_dir));
    view.set_tp(f.tp);
    controller.set_max_image_tokens(f.max_image_tokens);
    if (!f.open_id.empty() && !controller.open_conversation(f.open_id))
      std::fprintf(stderr, "minimax-vl-desktop: %s\n", controller.error().c_str());
    const bool send_message = !f.self_test_message.empty();
    glfwSetWindowUserPointer(window, &controller);
    glfwSetDropCallback(window, on_drop);

    if (!f.model_dir.empty()) {
      mvl::engine::EngineOptions o;
      o.model_dir = f.model_dir;
      o.tp = f.tp;
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
    // While an answer streams, every token wakes the loop; frames are paced to 30 per second
    // so drawing a long answer does not take the CPU the decoding needs.
    auto last_frame = std::chrono::steady_clock::now();
    const auto pace = [&] {
      const auto next = last_frame + std::chrono::milliseconds(33);
      if (controller.generating() && std::chrono::steady_clock::now() < next) std::this_thread::sleep_until(next);
      last_frame = std::chrono::steady_clock::now();
    };
    for (int frame = 0; !glfwWindowShouldClose(window); ++frame) {
      if (self_test) {
        pace();
        glfwPollEvents();
        const bool waiting = !f.model_dir.empty() && (controller.model_status().state == ModelStatus::State::loading ||
                                                      controller.generating() ||
                                                      (controller.model_ready() && !sent && send_message));
        if (frame >= f.self_test_frames && !waiting) break;
        if (std::chrono::steady_clock::now() - t0 >
            std::chrono::seconds(90 + f.self_test_tokens / 100)) {
          std::fprintf(stderr, "minimax-vl-desktop: self-test timed out\n");
          rc = 1;
          break;
        }
        if (controller.model_ready() && !sent && attached && send_message) {
          controller.settings().max_tokens = f.self_test_tokens;
          controller.draft() = f.self_test_message;
          sent = controller.send();
          if (!sent) break;
        }
      } else {
        glfwWaitEventsTimeout(controller.generating() ? 0.05 : 0.25);
        pace();
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
      } else if (!f.model_dir.empty() && send_message &&
                 (!sent || controller.entries().empty() || !controller.entries().back().stats)) {
        std::fprintf(stderr, "minimax-vl-desktop: self-test: the message was not answered\n");
        rc = 1;
      }
      // With fonts-noto-cjk installed, CJK must really be in the atlas (not '?').
      const bool cjk_drawn = fonts.ui->FindGlyphNoFallback(0x6587) != nullptr;  // U+6587
      if (fonts.cjk && !cjk_drawn) {
        std::fprintf(stderr, "minimax-vl-desktop: self-test: a CJK font was loaded but has no glyph for U+6587\n");
        rc = 1;
      }
      std::fprintf(stderr, "minimax-vl-desktop: fonts: %s; CJK glyphs %s, symbols %s\n",
                   fonts.files.empty() ? "ImGui's built-in" : fonts.files.front().c_str(),
                   cjk_drawn ? "yes" : "no (install fonts-noto-cjk)",
                   fonts.symbols ? "yes" : "no (install fonts-symbola)");
      if (rc == 0) {
        std::fprintf(stderr, "minimax-vl-desktop: self-test passed (%d frames%s)\n", f.self_test_frames,
                     sent ? ", one answer streamed" : "");
        if (sent)
          std::fprintf(stderr, "  %s; %zu characters on screen\n",
                       mvl::desktop::stats_line(*controller.entries().back().stats).c_str(),
                       controller.entries().back().text.size());
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
  app.add_option("--tp", f.tp,
                 "Tensor-parallel ranks for the text model: CPU threads with --device cpu, GPUs "
                 "from --device's index on with cuda (docs/parallel.md)")
      ->type_name("N")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("-i,--image", f.images, "Image to attach once the model is loaded; repeatable")
      ->type_name("PATH")
      ->allow_extra_args(false);
  std::vector<std::string> positional;  // files opened from a file manager (the .desktop entry's %F)
  app.add_option("files", positional, "Images to attach, like --image")->type_name("IMAGE");
  app.add_option("--conversations", f.conversations_dir,
                 "Folder of saved conversations (default: $XDG_DATA_HOME/minimax-vl/conversations, "
                 "else ~/.local/share/minimax-vl/conversations; --self-test saves none unless given)")
      ->type_name("DIR");
  app.add_option("--open", f.open_id, "Reopen this saved conversation (its file name without .json) at start")
      ->type_name("ID");
  app.add_option("--max-image-tokens", f.max_image_tokens,
                 "Start value of the per-image token budget slider (0 = the released grid; docs/tile-map.md)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--self-test-message", f.self_test_message,
                 "With --self-test and -m: the message sent (\"\" sends none, e.g. to capture attached images' tile maps)")
      ->type_name("TEXT");
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
