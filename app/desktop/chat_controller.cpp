// ChatController (see chat_controller.h): actions, per-frame event draining and the
// reconciliation of the message list with the Session after every request.
#include "app/desktop/chat_controller.h"

#include <fmt/format.h>

#include <algorithm>

#include "app/engine/core/transcript.h"
#include "kernels/core/error.h"

namespace mvl::desktop {
namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A path typed, pasted or dropped: surrounding quotes and a file:// prefix are dropped.
std::string clean_path(const std::string& raw) {
  std::string p = trim(raw);
  if (p.size() >= 2 && (p.front() == '"' || p.front() == '\'') && p.back() == p.front())
    p = p.substr(1, p.size() - 2);
  if (p.rfind("file://", 0) == 0) p = p.substr(7);
  return p;
}

MessageStats to_stats(const engine::DoneEvent& d) {
  MessageStats s;
  s.reason = d.reason;
  s.ttft_ms = d.timings.ttft_ms;
  s.prefill_tokens_per_s = d.timings.prefill_tokens_per_s;
  s.decode_tokens_per_s = d.timings.decode_tokens_per_s;
  s.image_encode_ms = d.timings.image_encode_ms;
  s.total_ms = d.timings.total_ms;
  s.prompt_tokens = d.usage.prompt_tokens;
  s.completion_tokens = d.usage.completion_tokens;
  s.context_tokens = d.usage.context_tokens;
  return s;
}

}  // namespace

std::string stats_line(const MessageStats& s) {
  std::string out = fmt::format("{} tokens, {:.1f} tok/s, TTFT {:.0f} ms, prompt {} tokens at {:.0f} tok/s",
                                s.completion_tokens, s.decode_tokens_per_s, s.ttft_ms, s.prompt_tokens,
                                s.prefill_tokens_per_s);
  if (s.image_encode_ms > 0) out += fmt::format(", images {:.0f} ms", s.image_encode_ms);
  out += fmt::format(", {}", s.reason == engine::StopReason::cancelled ? "stopped" : engine::stop_reason_name(s.reason));
  return out;
}

engine::GenerateOptions ChatSettings::options() const {
  engine::GenerateOptions o;
  o.max_tokens = max_tokens;
  o.sampling.temperature = temperature;
  o.sampling.top_p = top_p;
  o.sampling.seed = seed;
  return o;
}

ChatController::ChatController(EngineFactory factory) : factory_(std::move(factory)) {}

ChatController::~ChatController() {
  cancel_active();
  // Members go in reverse order: the engine (joins its worker) and then the loader (joins
  // a load in progress) are destroyed after this body.
}

int64_t ChatController::max_context() const { return engine_ ? engine_->max_context() : 0; }

const Thumbnail* ChatController::thumbnail(const std::string& path) const {
  auto it = thumbnails_.find(path);
  return it == thumbnails_.end() ? nullptr : it->second.get();
}

void ChatController::cancel_active() {
  if (!active_) return;
  active_->handle.cancel();
  active_.reset();  // its queue lives on in the request's callback until the worker is done
}

bool ChatController::load_model(const engine::EngineOptions& opts) {
  if (loader_.active()) {
    error_ = "a model is already loading; wait for it to finish";
    return false;
  }
  if (opts.model_dir.empty()) {
    error_ = "choose a model folder first (a checkpoint dir with config.json)";
    return false;
  }
  // Keep the conversation unless an answer is running (then the old session is abandoned).
  if (active_) {
    cancel_active();
    carried_.clear();
    entries_.clear();
  } else if (session_ && !session_->busy()) {
    carried_ = session_->messages();
  }
  session_.reset();
  error_.clear();
  model_ = ModelStatus{};
  model_.state = ModelStatus::State::loading;
  model_.stage = "starting";
  loader_.start(factory_, opts, std::move(engine_), wakeup_);
  return true;
}

void ChatController::collect_loader() {
  if (!loader_.active()) return;
  const ModelLoader::Progress p = loader_.progress();
  model_.fraction = p.fraction;
  model_.stage = p.stage;
  model_.bytes = p.bytes;
  std::optional<ModelLoader::Result> r = loader_.take_result();
  if (!r) return;
  if (!r->engine) {
    model_.state = ModelStatus::State::failed;
    model_.error = r->error;
    return;
  }
  engine_ = std::move(r->engine);
  engine_->set_max_image_tokens(max_image_tokens_);
  const engine::ModelInfo& info = engine_->info();
  model_.state = ModelStatus::State::ready;
  model_.fraction = 1;
  model_.summary = fmt::format("{} layers, hidden {}, {} context, {}{}{}", info.num_layers, info.hidden_size,
                               engine_->max_context(), info.backend, engine_->has_vision() ? ", vision" : ", text only",
                               info.tiny_demo ? " (tiny random demo: answers are gibberish)" : "");
  session_ = engine_->new_session(settings_.system_prompt);
  if (!carried_.empty()) {
    try {
      session_->load(std::move(carried_));
    } catch (const Error& e) {
      error_ = fmt::format("the conversation could not be kept: {}", e.what());
    }
    carried_.clear();
  }
  // Attachments were prepared by the old model's preprocessor: prepare again on submit.
  for (auto& a : attachments_) a.prepared.reset();
  rebuild_entries(std::nullopt);
}

bool ChatController::attach_image(const std::string& raw_path) {
  const std::string path = clean_path(raw_path);
  if (path.empty()) {
    error_ = "type or drop an image path first";
    return false;
  }
  if (!engine_) {
    error_ = fmt::format("image '{}': load a model before attaching images", path);
    return false;
  }
  try {
    Attachment a{path, engine_->prepare_image(path)};
    a.width = a.prepared->width;
    a.height = a.prepared->height;
    attachments_.push_back(std::move(a));
  } catch (const std::exception& e) {
    error_ = e.what();
    return false;
  }
  // The model accepted the file; a thumbnail is a nicety (formats the model reads but the
  // decoder here does not simply show no picture).
  if (!thumbnails_.count(path)) {
    try {
      thumbnails_[path] = load_thumbnail(path, kThumbnailSide);
    } catch (const std::exception&) {
      thumbnails_[path] = nullptr;
    }
  }
  error_.clear();
  return true;
}

std::optional<engine::TileMap> ChatController::tile_map(size_t i) const {
  if (!engine_ || i >= attachments_.size() || attachments_[i].width <= 0) return std::nullopt;
  try {
    return engine_->tile_map(attachments_[i].width, attachments_[i].height);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void ChatController::set_max_image_tokens(int64_t n) {
  n = std::max<int64_t>(0, n);
  if (n == max_image_tokens_) return;
  max_image_tokens_ = n;
  if (!engine_) return;
  engine_->set_max_image_tokens(n);
  for (auto& a : attachments_) {
    try {
      a.prepared = engine_->prepare_image(a.path);  // the grid under the new budget
    } catch (const std::exception&) {
      a.prepared.reset();  // prepared again (and any error shown) on send
    }
  }
}

void ChatController::remove_attachment(size_t i) {
  if (i < attachments_.size()) attachments_.erase(attachments_.begin() + static_cast<std::ptrdiff_t>(i));
}

bool ChatController::can_send() const {
  return engine_ && session_ && !active_ && !session_->busy();
}

bool ChatController::can_regenerate() const {
  if (!can_send()) return false;
  const auto& m = session_->messages();
  return !m.empty() && m.back().role == engine::Role::assistant;
}

bool ChatController::send() {
  if (!can_send()) {
    error_ = engine_ ? "wait for the current answer to finish (or press Stop)" : "load a model first";
    return false;
  }
  const std::string text = trim(draft_);
  if (text.empty() && attachments_.empty()) return false;
  engine::Request r;
  r.kind = engine::Request::Kind::turn;
  ChatEntry user;
  user.role = engine::Role::user;
  user.text = text;
  for (const auto& a : attachments_) {
    r.content.push_back(engine::ContentPart::make_image(a.path, a.prepared));
    user.images.push_back(a.path);
  }
  if (!text.empty()) r.content.push_back(engine::ContentPart::make_text(text));
  engine::Message question;
  question.role = engine::Role::user;
  question.parts = r.content;
  Active a;
  a.kind = r.kind;
  a.expected_messages = session_->messages().size() + 2;
  a.draft = draft_;
  a.attachments = attachments_;
  entries_.push_back(std::move(user));
  if (!submit(std::move(r), std::move(a))) {
    entries_.pop_back();
    return false;
  }
  draft_.clear();
  attachments_.clear();
  std::vector<engine::Message> with_question = session_->messages();
  with_question.push_back(std::move(question));
  save_conversation(with_question);
  return true;
}

bool ChatController::regenerate() {
  if (!can_regenerate()) {
    error_ = engine_ ? "there is no finished answer to regenerate" : "load a model first";
    return false;
  }
  engine::Request r;
  r.kind = engine::Request::Kind::regenerate;
  Active a;
  a.kind = r.kind;
  a.expected_messages = session_->messages().size();
  ChatEntry old;
  if (!entries_.empty() && entries_.back().role == engine::Role::assistant) {
    old = std::move(entries_.back());
    entries_.pop_back();
  }
  if (!submit(std::move(r), std::move(a))) {
    entries_.push_back(std::move(old));
    return false;
  }
  return true;
}

bool ChatController::submit(engine::Request r, Active a) {
  r.session = session_;
  r.options = settings_.options();
  a.queue = std::make_shared<engine::EventQueue>();
  a.queue->set_notify(wakeup_);
  // The callback owns the queue, so a request abandoned by new_chat() never writes freed memory.
  r.on_event = [q = a.queue](const engine::Event& e) { q->push(e); };
  try {
    a.handle = engine_->submit(std::move(r));
  } catch (const std::exception& e) {
    error_ = e.what();
    return false;
  }
  ChatEntry answer;
  answer.role = engine::Role::assistant;
  answer.streaming = true;
  entries_.push_back(std::move(answer));
  error_.clear();
  active_ = std::move(a);
  return true;
}

void ChatController::stop() {
  if (active_) active_->handle.cancel();
}

void ChatController::new_chat() {
  cancel_active();
  carried_.clear();
  entries_.clear();
  attachments_.clear();
  draft_.clear();
  error_.clear();
  context_tokens_ = 0;
  thumbnails_.clear();
  conversation_id_.clear();
  conversation_title_.clear();
  session_ = engine_ ? engine_->new_session(settings_.system_prompt) : nullptr;
}

void ChatController::set_store(std::shared_ptr<ConversationStore> store) {
  store_ = std::move(store);
  refresh_conversations();
}

void ChatController::refresh_conversations() {
  conversations_ = store_ ? store_->list() : std::vector<ConversationInfo>{};
}

void ChatController::save_conversation(const std::vector<engine::Message>& messages) {
  if (!store_) return;
  const bool any = std::any_of(messages.begin(), messages.end(),
                               [](const engine::Message& m) { return m.role != engine::Role::system; });
  if (!any) return;
  try {
    if (conversation_id_.empty()) {
      conversation_id_ = store_->new_id();
      conversation_title_ = conversation_title(messages);
    }
    store_->save(conversation_id_, conversation_title_, messages);
  } catch (const std::exception& e) {
    error_ = fmt::format("the conversation could not be saved: {}", e.what());
  }
  refresh_conversations();
}

namespace {
// What the chat shows of a message (system messages are shown nowhere).
ChatEntry entry_of(const engine::Message& m) {
  ChatEntry e;
  e.role = m.role;
  e.text = m.text();
  for (const auto& p : m.parts)
    if (p.kind == engine::ContentPart::Kind::image) e.images.push_back(p.image_path);
  return e;
}
}  // namespace

void ChatController::entries_from(const std::vector<engine::Message>& messages) {
  entries_.clear();
  for (const engine::Message& m : messages)
    if (m.role != engine::Role::system) entries_.push_back(entry_of(m));
}

bool ChatController::open_conversation(const std::string& id) {
  if (!store_) return false;
  std::vector<engine::Message> messages;
  std::string title;
  try {
    messages = store_->load(id, &title);
    if (engine_) engine::check_transcript_tokens(messages, engine_->info().vocab_size, id);
  } catch (const std::exception& e) {
    error_ = fmt::format("cannot open the conversation: {}", e.what());
    return false;
  }
  new_chat();
  conversation_id_ = id;
  conversation_title_ = title;
  for (const auto& m : messages)
    for (const auto& p : m.parts)
      if (p.kind == engine::ContentPart::Kind::image && !thumbnails_.count(p.image_path)) {
        try {
          thumbnails_[p.image_path] = load_thumbnail(p.image_path, kThumbnailSide);
        } catch (const std::exception&) {
          thumbnails_[p.image_path] = nullptr;  // moved or deleted since: a placeholder
        }
      }
  if (session_) {
    try {
      session_->load(messages);
    } catch (const std::exception& e) {
      error_ = fmt::format("cannot continue the conversation with this model: {}", e.what());
      session_ = engine_->new_session(settings_.system_prompt);
      entries_from(messages);
      conversation_id_.clear();  // shown read-only; the next message starts a new file
      return false;
    }
    rebuild_entries(std::nullopt);
  } else {
    carried_ = messages;  // fed to the model once one is loaded
    entries_from(messages);
  }
  return true;
}

bool ChatController::rename_conversation(const std::string& id, const std::string& title) {
  if (!store_) return false;
  try {
    store_->rename(id, title);
  } catch (const std::exception& e) {
    error_ = fmt::format("cannot rename the conversation: {}", e.what());
    return false;
  }
  if (id == conversation_id_) conversation_title_ = title;
  refresh_conversations();
  return true;
}

bool ChatController::delete_conversation(const std::string& id) {
  if (!store_) return false;
  try {
    store_->remove(id);
  } catch (const std::exception& e) {
    error_ = fmt::format("cannot delete the conversation: {}", e.what());
    return false;
  }
  if (id == conversation_id_) new_chat();
  refresh_conversations();
  return true;
}

bool ChatController::poll() {
  bool changed = false;
  if (loader_.active()) {
    collect_loader();
    changed = true;
  }
  if (!active_) return changed;
  for (engine::Event& e : active_->queue->drain()) {
    changed = true;
    if (auto* t = std::get_if<engine::TokenEvent>(&e)) {
      on_token(*t);
    } else if (auto* d = std::get_if<engine::DoneEvent>(&e)) {
      finish(d, nullptr);
      break;
    } else if (auto* err = std::get_if<engine::ErrorEvent>(&e)) {
      finish(nullptr, err);
      break;
    }
  }
  return changed;
}

void ChatController::on_token(const engine::TokenEvent& t) {
  if (entries_.empty() || !entries_.back().streaming) return;
  ChatEntry& e = entries_.back();
  e.text += t.piece;
  if (t.id < 0) return;
  const double now = engine::now_ms();
  if (++e.live_tokens == 1) active_->first_token_ms = now;
  const double dt = now - active_->first_token_ms;
  e.live_tokens_per_s = dt > 0 ? (e.live_tokens - 1) * 1000.0 / dt : 0;
}

void ChatController::finish(const engine::DoneEvent* done, const engine::ErrorEvent* err) {
  Active a = std::move(*active_);
  active_.reset();
  a.handle.wait();  // the final event is out; the session is released right after it
  // Errors and cancels before the prompt was fed roll the transcript back (engine README).
  const bool rolled_back = err != nullptr || (done->reason == engine::StopReason::cancelled && done->usage.prompt_tokens == 0);
  std::optional<MessageStats> stats;
  if (done) {
    context_tokens_ = done->usage.context_tokens > 0 ? done->usage.context_tokens : context_tokens_;
    const auto& m = session_->messages();
    if (!rolled_back && m.size() == a.expected_messages && !m.empty() && m.back().role == engine::Role::assistant)
      stats = to_stats(*done);
  }
  rebuild_entries(stats);
  if (session_) save_conversation(session_->messages());  // the answer, or the rollback
  if (err) error_ = err->error.what();
  if (rolled_back && a.kind == engine::Request::Kind::turn) {
    // Nothing is lost: the question goes back into the composer to edit or resend.
    if (trim(draft_).empty()) draft_ = a.draft;
    if (attachments_.empty()) attachments_ = std::move(a.attachments);
  }
}

void ChatController::rebuild_entries(std::optional<MessageStats> last_stats) {
  std::vector<ChatEntry> old = std::move(entries_);
  entries_.clear();
  if (session_) {
    for (const engine::Message& m : session_->messages()) {
      if (m.role == engine::Role::system) continue;
      ChatEntry e = entry_of(m);
      const size_t i = entries_.size();
      if (i < old.size() && !old[i].streaming && old[i].role == e.role && old[i].text == e.text) e.stats = old[i].stats;
      entries_.push_back(std::move(e));
    }
  } else {
    for (auto& e : old)
      if (!e.streaming) entries_.push_back(std::move(e));
  }
  if (last_stats && !entries_.empty() && entries_.back().role == engine::Role::assistant)
    entries_.back().stats = last_stats;
}

}  // namespace mvl::desktop
