#include "support/fault_proxy.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/db/connect.h"

namespace campaignq::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Protocol codes of the untyped packets a client may open with.
constexpr uint32_t kSslRequest = 80877103;
constexpr uint32_t kGssEncRequest = 80877104;
constexpr uint32_t kCancelRequest = 80877102;
constexpr uint32_t kProtocolMajor3 = 3;

// How much of one message's body is kept for inspection (the server's own
// limit for a startup packet; a longer Query cannot be a bare COMMIT).
constexpr size_t kKeptBody = 10000;
// Bytes buffered per direction before the proxy stops reading the sender.
constexpr size_t kMaxBuffered = 256 * 1024;
// How long a COMMIT-cut waits for the server's answer before cutting anyway.
constexpr auto kCommitAnswerTimeout = std::chrono::seconds(10);

uint32_t BigEndian32(const char* bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// The NUL-terminated string at `*offset` of `body`, advancing `*offset` past
// it; false if there is none (a malformed or truncated message).
bool CString(const std::string& body, size_t* offset, std::string* out) {
  const size_t end = body.find('\0', *offset);
  if (end == std::string::npos) return false;
  *out = body.substr(*offset, end - *offset);
  *offset = end + 1;
  return true;
}

// Whether SQL text is a COMMIT: "commit" in any case after whitespace,
// followed by its end, whitespace or ';' ("COMMIT", " commit;", "COMMIT
// PREPARED 'x'"). END, its synonym, is not used by libpqxx.
bool IsCommitText(absl::string_view text) {
  text = absl::StripLeadingAsciiWhitespace(text);
  constexpr absl::string_view kCommit = "commit";
  if (!absl::StartsWithIgnoreCase(text, kCommit)) return false;
  if (text.size() == kCommit.size()) return true;
  const char next = text[kCommit.size()];
  return next == ';' || absl::ascii_isspace(static_cast<unsigned char>(next));
}

// Splits one direction's byte stream into protocol messages: untyped ones
// (int32 length, as in the startup phase), typed ones (a type byte, then
// int32 length counting itself) or none at all (opaque: TLS, cancel).
class Framer {
 public:
  enum class Mode { kUntyped, kTyped, kOpaque };
  struct Message {
    char type = 0;     // 0 for untyped packets
    std::string body;  // the first kKeptBody bytes after the length
  };

  explicit Framer(Mode mode) : mode_(mode) {}

  Mode mode() const { return mode_; }
  // Only between messages (after Consume() completed one).
  void set_mode(Mode mode) { mode_ = mode; }

  // Consumes `data` up to the end of at most one message and returns how
  // many bytes it took; *complete says whether a message ended there (it is
  // then message()). A nonsensical length makes the stream opaque.
  size_t Consume(const char* data, size_t size, bool* complete) {
    *complete = false;
    size_t used = 0;
    while (used < size && mode_ != Mode::kOpaque) {
      if (remaining_ == 0) {
        header_.push_back(data[used++]);
        const size_t header_size = mode_ == Mode::kTyped ? 5 : 4;
        if (header_.size() < header_size) continue;
        const uint32_t length = BigEndian32(header_.data() + header_size - 4);
        const uint32_t minimum = mode_ == Mode::kTyped ? 4 : 8;
        if (length < minimum || length > (1u << 30)) {
          mode_ = Mode::kOpaque;
          break;
        }
        message_.type = mode_ == Mode::kTyped ? header_[0] : 0;
        message_.body.clear();
        header_.clear();
        remaining_ = length - 4;
        if (remaining_ == 0) {
          *complete = true;
          return used;
        }
      } else {
        const size_t take = std::min<size_t>(size - used, remaining_);
        const size_t keep = std::min(take, kKeptBody - message_.body.size());
        message_.body.append(data + used, keep);
        used += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          *complete = true;
          return used;
        }
      }
    }
    return mode_ == Mode::kOpaque ? size : used;
  }

  const Message& message() const { return message_; }

 private:
  Mode mode_;
  std::string header_;    // the current header's bytes so far
  size_t remaining_ = 0;  // body bytes still to come; 0 between messages
  Message message_;
};

// Follows one connection's protocol in both directions: which client
// messages are COMMITs, where the connection may be cut, and when the
// server has answered.
class Session {
 public:
  struct ClientStep {
    size_t consumed = 0;
    bool cut = false;  // cut right after these bytes have been forwarded
  };

  // Consumes client bytes up to the end of at most one message.
  // on_commit() is called for each COMMIT and returns whether to cut it.
  ClientStep FromClient(const char* data, size_t size, const std::function<bool()>& on_commit) {
    bool complete = false;
    ClientStep step;
    step.consumed = client_.Consume(data, size, &complete);
    if (!complete) return step;
    const Framer::Message& message = client_.message();
    if (message.type == 0) {
      OnStartupPacket(message.body);
    } else {
      step.cut = OnClientMessage(message, on_commit);
    }
    return step;
  }

  // Consumes all server bytes; true if they answered a COMMIT (its
  // CommandComplete COMMIT or ROLLBACK, an error, or ReadyForQuery).
  bool FromServer(const char* data, size_t size) {
    bool answered = false;
    while (size > 0) {
      if (awaiting_answer_) {
        // The one-byte answer to SSLRequest/GSSENCRequest: 'N' means the
        // client goes on in clear text with a startup packet.
        awaiting_answer_ = false;
        if (*data != 'N') {
          client_.set_mode(Framer::Mode::kOpaque);
          server_.set_mode(Framer::Mode::kOpaque);
        }
        ++data;
        --size;
        continue;
      }
      bool complete = false;
      const size_t used = server_.Consume(data, size, &complete);
      data += used;
      size -= used;
      if (!complete) continue;
      const Framer::Message& message = server_.message();
      answered |= message.type == 'E' || message.type == 'Z' ||
                  (message.type == 'C' && (absl::StartsWith(message.body, "COMMIT") ||
                                           absl::StartsWith(message.body, "ROLLBACK")));
    }
    return answered;
  }

  const std::string& application_name() const { return application_name_; }

 private:
  void OnStartupPacket(const std::string& body) {
    const uint32_t code = BigEndian32(body.data());
    if (code == kSslRequest || code == kGssEncRequest) {
      awaiting_answer_ = true;  // the client's next packet is untyped again
      return;
    }
    if (code >> 16 != kProtocolMajor3) {  // CancelRequest or unknown: nothing to follow
      client_.set_mode(Framer::Mode::kOpaque);
      server_.set_mode(Framer::Mode::kOpaque);
      return;
    }
    size_t offset = 4;
    std::string key, value;
    while (CString(body, &offset, &key) && !key.empty() && CString(body, &offset, &value)) {
      if (key == "application_name") application_name_ = value;
    }
    client_.set_mode(Framer::Mode::kTyped);
  }

  bool OnClientMessage(const Framer::Message& message, const std::function<bool()>& on_commit) {
    const std::string& body = message.body;
    size_t offset = 0;
    std::string first, second;
    switch (message.type) {
      case 'Q':  // simple Query: libpqxx's COMMIT
        if (CString(body, &offset, &first) && IsCommitText(first)) return on_commit();
        return false;
      case 'P':  // Parse: statement name, text
        if (!CString(body, &offset, &first) || !CString(body, &offset, &second)) return false;
        if (IsCommitText(second)) {
          commit_statements_.insert(first);
        } else {
          commit_statements_.erase(first);
        }
        return false;
      case 'B':  // Bind: portal name, statement name
        if (!CString(body, &offset, &first) || !CString(body, &offset, &second)) return false;
        if (commit_statements_.count(second) > 0) {
          commit_portals_.insert(first);
        } else {
          commit_portals_.erase(first);
        }
        return false;
      case 'C':  // Close: 'S' statement or 'P' portal, name
        offset = 1;
        if (body.empty() || !CString(body, &offset, &first)) return false;
        (body[0] == 'S' ? commit_statements_ : commit_portals_).erase(first);
        return false;
      case 'E':  // Execute: portal name. The server answers after Sync/Flush.
        if (CString(body, &offset, &first) && commit_portals_.count(first) > 0) {
          cut_at_sync_ |= on_commit();
        }
        return false;
      case 'S':  // Sync
      case 'H':  // Flush
        return std::exchange(cut_at_sync_, false);
      default:
        return false;
    }
  }

  Framer client_{Framer::Mode::kUntyped};
  Framer server_{Framer::Mode::kTyped};
  bool awaiting_answer_ = false;
  std::string application_name_;
  std::set<std::string> commit_statements_;  // prepared from COMMIT text
  std::set<std::string> commit_portals_;     // bound to such statements
  bool cut_at_sync_ = false;
};

void SetNoDelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Closes `fd` so that the peer gets a RST instead of a FIN.
void CloseWithReset(int fd) {
  const linger abortive{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
  ::close(fd);
}

void Wake(int fd) {
  const char byte = 0;
  // A full pipe already holds a wake-up.
  [[maybe_unused]] ssize_t ignored = ::write(fd, &byte, 1);
}

void Drain(int fd) {
  char bytes[64];
  while (::read(fd, bytes, sizeof(bytes)) > 0) {
  }
}

bool WouldBlock() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

// Reads what `fd` has into `buffer`; false on end of stream or error
// (*eof says which), true otherwise (also when nothing was there).
bool ReadSome(int fd, std::string* buffer, bool* eof) {
  char bytes[64 * 1024];
  const ssize_t n = ::recv(fd, bytes, sizeof(bytes), 0);
  if (n > 0) {
    buffer->assign(bytes, n);
    return true;
  }
  buffer->clear();
  *eof = n == 0;
  return n < 0 && WouldBlock();
}

// Sends what it can of `buffer` and erases it; false on error.
bool WriteSome(int fd, std::string* buffer) {
  if (buffer->empty()) return true;
  const ssize_t n = ::send(fd, buffer->data(), buffer->size(), MSG_NOSIGNAL);
  if (n > 0) {
    buffer->erase(0, n);
    return true;
  }
  return n < 0 && WouldBlock();
}

}  // namespace

struct FaultProxy::Connection {
  ~Connection() {
    if (wake[0] >= 0) ::close(wake[0]);
    if (wake[1] >= 0) ::close(wake[1]);
  }

  int client = -1;
  int wake[2] = {-1, -1};
  std::thread thread;
  // Guarded by FaultProxy::mu_.
  uint64_t acked_version = 0;
  bool cut_requested = false;
  bool done = false;
};

FaultProxy::FaultProxy(std::string upstream_host, int upstream_port)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port) {}

FaultProxy::~FaultProxy() { Stop(); }

absl::StatusOr<int> FaultProxy::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return absl::FailedPreconditionError("the proxy was started before");

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* resolved = nullptr;
  const std::string service = std::to_string(upstream_port_);
  const int error = ::getaddrinfo(upstream_host_.c_str(), service.c_str(), &hints, &resolved);
  if (error != 0 || resolved == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve ", upstream_host_, ": ", ::gai_strerror(error)));
  }
  std::memcpy(&upstream_address_, resolved->ai_addr, resolved->ai_addrlen);
  upstream_address_length_ = resolved->ai_addrlen;
  ::freeaddrinfo(resolved);

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      ::pipe2(listener_wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    return absl::InternalError(absl::StrCat("cannot listen: ", why));
  }
  port_ = ntohs(address.sin_port);
  started_ = true;
  listener_ = std::thread(&FaultProxy::AcceptLoop, this);
  return port_;
}

void FaultProxy::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    if (!started_) return;
    Wake(listener_wake_[1]);
    for (const auto& connection : connections_) Wake(connection->wake[1]);
  }
  listener_.join();  // no connection is added after this
  std::list<std::unique_ptr<Connection>> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections.swap(connections_);
  }
  for (const auto& connection : connections) connection->thread.join();
  ::close(listen_fd_);
  ::close(listener_wake_[0]);
  ::close(listener_wake_[1]);
}

int FaultProxy::port() const {
  std::lock_guard<std::mutex> lock(mu_);
  return port_;
}

absl::StatusOr<FaultProxy::HostPort> FaultProxy::ServerOf(const std::string& url) {
  absl::StatusOr<std::map<std::string, std::string>> settings = db::ParseConnectionUrl(url);
  if (!settings.ok()) return settings.status();
  HostPort server{"localhost", 5432};
  const auto host = settings->find("host");
  if (host != settings->end() && !host->second.empty()) server.host = host->second;
  const auto port = settings->find("port");
  if (port != settings->end() && !port->second.empty() &&
      !absl::SimpleAtoi(port->second, &server.port)) {
    return absl::InvalidArgumentError("the URL names several ports or a bad one");
  }
  if (absl::StrContains(server.host, ',') || absl::StartsWith(server.host, "/") ||
      absl::StartsWith(server.host, "@")) {
    return absl::InvalidArgumentError("the URL names several hosts or a Unix socket");
  }
  return server;
}

absl::StatusOr<std::string> FaultProxy::Through(const std::string& url) const {
  absl::StatusOr<std::map<std::string, std::string>> settings = db::ParseConnectionUrl(url);
  if (!settings.ok()) return settings.status();
  settings->erase("hostaddr");
  (*settings)["host"] = "127.0.0.1";
  (*settings)["port"] = std::to_string(port());
  return db::ConninfoOf(*settings);
}

void FaultProxy::Control(const std::function<void()>& change) {
  std::unique_lock<std::mutex> lock(mu_);
  change();
  const uint64_t version = ++version_;
  for (const auto& connection : connections_) {
    if (!connection->done) Wake(connection->wake[1]);
  }
  changed_.wait(lock, [&] {
    return std::all_of(connections_.begin(), connections_.end(), [&](const auto& connection) {
      return connection->done || connection->acked_version >= version;
    });
  });
}

void FaultProxy::CutAll() {
  Control([this] {
    for (const auto& connection : connections_) connection->cut_requested = true;
  });
}

void FaultProxy::BlackholeAll(bool on) {
  Control([this, on] { blackhole_ = on; });
}

void FaultProxy::RefuseNew(bool on) {
  Control([this, on] { refuse_ = on; });
}

void FaultProxy::CutAfterCommit(int n, std::string application_name_prefix) {
  Control([&] {
    commit_cut_budget_ = n;
    commit_cut_prefix_ = std::move(application_name_prefix);
  });
}

FaultProxy::Counters FaultProxy::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

bool FaultProxy::WaitFor(const std::function<bool(const Counters&)>& condition,
                         std::chrono::steady_clock::duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return condition(counters_); });
}

void FaultProxy::Reap() {
  std::list<std::unique_ptr<Connection>> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      const auto next = std::next(it);
      if ((*it)->done) ended.splice(ended.end(), connections_, it);
      it = next;
    }
  }
  for (const auto& connection : ended) connection->thread.join();
}

void FaultProxy::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {listener_wake_[0], POLLIN, 0}};
    ::poll(fds, 2, -1);
    Drain(listener_wake_[0]);
    Reap();
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      if (client >= 0) CloseWithReset(client);
      return;
    }
    if (client < 0) continue;
    ++counters_.accepted;
    if (refuse_) {
      CloseWithReset(client);
      ++counters_.refused;
      changed_.notify_all();
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->client = client;
    connection->acked_version = version_;
    if (::pipe2(connection->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
      CloseWithReset(client);
      continue;
    }
    SetNoDelay(client);
    ++counters_.open;
    changed_.notify_all();
    Connection* raw = connection.get();
    connections_.push_back(std::move(connection));
    raw->thread = std::thread(&FaultProxy::Serve, this, raw);
  }
}

void FaultProxy::Serve(Connection* connection) {
  enum class Ending { kGraceful, kReset, kCut, kCommitCut };
  enum class Phase { kRelaying, kFlushingCommit, kAwaitingAnswer };
  const int client = connection->client;
  const int wake = connection->wake[0];
  bool blackhole = false;
  // Acknowledges the current settings; false when the pair must end now
  // (then `ending` says how).
  Ending ending = Ending::kReset;
  auto sync = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || connection->cut_requested) {
      ending = stopping_ ? Ending::kReset : Ending::kCut;
      return false;
    }
    connection->acked_version = version_;
    blackhole = blackhole_;
    changed_.notify_all();
    return true;
  };

  // Connect to the upstream without blocking controls or Stop().
  int server = ::socket(upstream_address_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  bool connected =
      server >= 0 && ::connect(server, reinterpret_cast<const sockaddr*>(&upstream_address_),
                               upstream_address_length_) == 0;
  bool alive = server >= 0 && (connected || errno == EINPROGRESS);
  while (alive && !connected && (alive = sync())) {
    pollfd fds[2] = {{wake, POLLIN, 0}, {server, POLLOUT, 0}};
    ::poll(fds, 2, -1);
    Drain(wake);
    if (fds[1].revents == 0) continue;
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(server, SOL_SOCKET, SO_ERROR, &error, &length);
    connected = error == 0;
    alive = connected;
  }
  if (connected) SetNoDelay(server);

  Session session;
  std::string to_server, to_client, chunk;
  bool client_eof = false, server_eof = false;
  Phase phase = Phase::kRelaying;
  Clock::time_point answer_deadline;
  const auto on_commit = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.commits_seen;
    changed_.notify_all();
    if (commit_cut_budget_ <= 0 ||
        !absl::StartsWith(session.application_name(), commit_cut_prefix_)) {
      return false;
    }
    --commit_cut_budget_;
    return true;
  };

  while (alive && (alive = sync())) {
    if (!blackhole) {
      const bool relaying = phase == Phase::kRelaying;
      // Client -> server, up to and including a COMMIT to cut after.
      if (relaying && !client_eof && to_server.size() < kMaxBuffered) {
        if (!ReadSome(client, &chunk, &client_eof) && !client_eof) break;
        for (size_t offset = 0; offset < chunk.size();) {
          const Session::ClientStep step =
              session.FromClient(chunk.data() + offset, chunk.size() - offset, on_commit);
          to_server.append(chunk, offset, step.consumed);
          offset += step.consumed;
          if (step.cut) {
            phase = Phase::kFlushingCommit;  // the rest is never forwarded
            break;
          }
        }
      }
      // Server -> client; after a COMMIT to cut, read only to see the answer.
      if (!server_eof && (!relaying || to_client.size() < kMaxBuffered)) {
        if (!ReadSome(server, &chunk, &server_eof) && !server_eof) break;
        const bool answered = session.FromServer(chunk.data(), chunk.size());
        if (phase == Phase::kRelaying) {
          to_client += chunk;
        } else if (phase == Phase::kAwaitingAnswer && (answered || server_eof)) {
          ending = Ending::kCommitCut;
          break;
        }
      }
      if (!WriteSome(server, &to_server)) break;
      if (phase == Phase::kRelaying && !WriteSome(client, &to_client)) break;
      if (phase == Phase::kFlushingCommit && to_server.empty()) {
        phase = Phase::kAwaitingAnswer;
        answer_deadline = Clock::now() + kCommitAnswerTimeout;
      }
      if (phase == Phase::kAwaitingAnswer && Clock::now() >= answer_deadline) {
        ending = Ending::kCommitCut;
        break;
      }
      if (phase == Phase::kRelaying &&
          ((client_eof && to_server.empty()) || (server_eof && to_client.empty()))) {
        ending = Ending::kGraceful;
        break;
      }
      if (phase != Phase::kRelaying && server_eof) {
        ending = Ending::kCommitCut;
        break;
      }
    }

    // Wait for what the current phase can use (only a wake-up while
    // black-holed: unread bytes stay in the kernel).
    pollfd fds[3] = {{wake, POLLIN, 0}, {-1, 0, 0}, {-1, 0, 0}};
    if (!blackhole) {
      const bool relaying = phase == Phase::kRelaying;
      short client_events = 0, server_events = 0;
      if (relaying && !client_eof && to_server.size() < kMaxBuffered) client_events |= POLLIN;
      if (relaying && !to_client.empty()) client_events |= POLLOUT;
      if (!server_eof && (!relaying || to_client.size() < kMaxBuffered)) server_events |= POLLIN;
      if (!to_server.empty()) server_events |= POLLOUT;
      if (client_events != 0) fds[1] = {client, client_events, 0};
      if (server_events != 0) fds[2] = {server, server_events, 0};
    }
    int timeout_ms = -1;
    if (!blackhole && phase == Phase::kAwaitingAnswer) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(answer_deadline - Clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    ::poll(fds, 3, timeout_ms);
    Drain(wake);
  }

  std::lock_guard<std::mutex> lock(mu_);
  if (ending == Ending::kGraceful) {
    ::close(client);
    ::close(server);
  } else {
    CloseWithReset(client);
    if (server >= 0) CloseWithReset(server);
  }
  if (ending == Ending::kCut) ++counters_.cut;
  if (ending == Ending::kCommitCut) ++counters_.commits_cut;
  --counters_.open;
  connection->done = true;
  changed_.notify_all();
}

}  // namespace campaignq::testing
