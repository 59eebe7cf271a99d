// ChatController: everything the desktop chat does, without ImGui or GLFW. It owns the
// engine (loaded on a ModelLoader thread), the Session, the composer (draft text and
// attached images) and the message list the UI draws. Engine events arrive on the worker
// thread into a locked EventQueue; poll(), called once per frame on the UI thread, drains
// it and updates the state. The ImGui view only reads this state and calls the actions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/desktop/conversation_store.h"
#include "app/desktop/model_loader.h"
#include "app/desktop/thumbnail.h"
#include "app/engine/core/engine.h"

namespace mvl::desktop {

// What the UI shows under a finished answer (from DoneEvent).
struct MessageStats {
  engine::StopReason reason = engine::StopReason::eos;
  double ttft_ms = 0;
  double prefill_tokens_per_s = 0;
  double decode_tokens_per_s = 0;
  double image_encode_ms = 0;
  double total_ms = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0, context_tokens = 0;
};
std::string stats_line(const MessageStats& s);  // "12 tokens, 35.1 tok/s, TTFT 210 ms, eos"

struct ChatEntry {
  engine::Role role = engine::Role::user;
  std::string text;
  std::vector<std::string> images;     // attached image paths (user messages)
  bool streaming = false;              // the answer being generated now
  int64_t live_tokens = 0;             // streaming: tokens so far
  double live_tokens_per_s = 0;        // streaming: since the first token
  std::optional<MessageStats> stats;   // finished answers produced in this window
};

struct Attachment {
  std::string path;
  std::shared_ptr<const engine::PreparedImage> prepared;  // decoded + preprocessed
  int64_t width = 0, height = 0;                          // pixels (for the tile map)
};

struct ChatSettings {
  float temperature = 0.0f;   // 0 = greedy (the official examples' choice)
  float top_p = 1.0f;
  int64_t max_tokens = 512;
  uint64_t seed = 0;
  std::string system_prompt = engine::kDefaultSystemPrompt;  // applies from the next new chat
  engine::GenerateOptions options() const;
};

struct ModelStatus {
  enum class State { none, loading, ready, failed };
  State state = State::none;
  double fraction = 0;     // loading
  std::string stage;       // loading
  std::string bytes;       // loading: "1.2 GB / 2.9 GB  850.0 MB/s  ETA 0:02" (or "")
  std::string error;       // failed
  std::string summary;     // ready: "tiny-random, 4 layers, cpu, vision"
};

class ChatController {
 public:
  static constexpr int kThumbnailSide = 96;

  explicit ChatController(EngineFactory factory = default_engine_factory());
  ~ChatController();  // cancels the running answer, joins the loader and the engine
  ChatController(const ChatController&) = delete;
  ChatController& operator=(const ChatController&) = delete;

  // ---- model ----
  // Starts loading in the background (the previous engine is retired); the conversation
  // is kept and re-fed to the new model on the next message when nothing is running.
  // Returns false (and sets error()) when a load is already running.
  bool load_model(const engine::EngineOptions& opts);
  const ModelStatus& model_status() const { return model_; }
  bool model_ready() const { return engine_ != nullptr; }
  const engine::Engine* engine() const { return engine_.get(); }

  // ---- composer and actions (each returns false and sets error() when refused) ----
  std::string& draft() { return draft_; }
  bool attach_image(const std::string& path);
  void remove_attachment(size_t i);
  const std::vector<Attachment>& attachments() const { return attachments_; }
  bool send();          // the draft + attachments as the next user message
  void stop();          // cancels the answer being generated (a stop reason, not an error)
  bool regenerate();    // answers the last question again
  void new_chat();      // forgets the conversation (cancels a running answer first)

  // ---- saved conversations (ConversationStore; none set: nothing is saved) ----
  // The conversation is written when a message is sent (with the question) and when its
  // answer ends, so a crash loses at most the answer being streamed.
  void set_store(std::shared_ptr<ConversationStore> store);
  const std::vector<ConversationInfo>& conversations() const { return conversations_; }
  const std::string& conversation_id() const { return conversation_id_; }  // "" = not saved yet
  bool open_conversation(const std::string& id);  // replaces the current chat
  bool rename_conversation(const std::string& id, const std::string& title);
  bool delete_conversation(const std::string& id);  // the open one: a new chat follows

  // ---- the tile map (engine/loading/tile_map.h) ----
  // The grid attachment i will get; nullopt when the model cannot tell (no model, a fake).
  std::optional<engine::TileMap> tile_map(size_t i) const;
  // Per-image token budget (0: the released grid); attachments are prepared again with it.
  void set_max_image_tokens(int64_t n);
  int64_t max_image_tokens() const { return max_image_tokens_; }

  bool can_send() const;
  bool can_regenerate() const;
  bool generating() const { return active_.has_value(); }

  // ---- per frame (UI thread) ----
  // Drains engine events and the loader. Returns true when anything visible changed.
  bool poll();
  // Called from other threads when poll() has work (e.g. glfwPostEmptyEvent).
  void set_wakeup(std::function<void()> fn) { wakeup_ = std::move(fn); }

  // ---- state for the view ----
  const std::vector<ChatEntry>& entries() const { return entries_; }
  const std::string& error() const { return error_; }  // inline error; empty when none
  void dismiss_error() { error_.clear(); }
  ChatSettings& settings() { return settings_; }
  int64_t context_tokens() const { return context_tokens_; }
  int64_t max_context() const;
  // Thumbnail of an attached or sent image; null when it could not be decoded here.
  const Thumbnail* thumbnail(const std::string& path) const;

 private:
  struct Active {
    engine::RequestHandle handle;
    std::shared_ptr<engine::EventQueue> queue;
    engine::Request::Kind kind = engine::Request::Kind::turn;
    size_t expected_messages = 0;         // session size after a successful request
    std::string draft;                    // turn: given back to the composer on rollback
    std::vector<Attachment> attachments;  // turn: same
    double first_token_ms = 0;
  };
  bool submit(engine::Request r, Active a);
  void on_token(const engine::TokenEvent& t);
  void finish(const engine::DoneEvent* done, const engine::ErrorEvent* err);
  void rebuild_entries(std::optional<MessageStats> last_stats);
  void collect_loader();
  void cancel_active();
  void save_conversation(const std::vector<engine::Message>& messages);
  void refresh_conversations();
  void entries_from(const std::vector<engine::Message>& messages);

  EngineFactory factory_;
  ModelLoader loader_;
  std::unique_ptr<engine::Engine> engine_;
  std::shared_ptr<engine::Session> session_;
  std::vector<engine::Message> carried_;  // transcript kept across a model reload
  ModelStatus model_;
  ChatSettings settings_;
  std::string draft_;
  std::vector<Attachment> attachments_;
  std::map<std::string, std::shared_ptr<const Thumbnail>> thumbnails_;  // path -> thumbnail
  std::vector<ChatEntry> entries_;
  std::optional<Active> active_;
  std::string error_;
  int64_t context_tokens_ = 0;
  std::function<void()> wakeup_;
  std::shared_ptr<ConversationStore> store_;
  int64_t max_image_tokens_ = 0;
  std::vector<ConversationInfo> conversations_;
  std::string conversation_id_, conversation_title_;
};

}  // namespace mvl::desktop
