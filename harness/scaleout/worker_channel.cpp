#include "harness/scaleout/worker_channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace seqbench {

WorkerChannel::~WorkerChannel() { close(); }

WorkerChannel::WorkerChannel(WorkerChannel&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

WorkerChannel& WorkerChannel::operator=(WorkerChannel&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

void WorkerChannel::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void WorkerChannel::finish_sending() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool WorkerChannel::send_line(const std::string& line) {
  const std::string text = line + "\n";
  size_t sent = 0;
  while (sent < text.size()) {
    // MSG_NOSIGNAL: a worker that died must read as a failed send, not kill us with SIGPIPE.
    const ssize_t n = ::send(fd_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::optional<std::string> WorkerChannel::take_buffered_line() {
  const auto end = buffer_.find('\n');
  if (end == std::string::npos) return std::nullopt;
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 1);
  return line;
}

std::optional<std::string> WorkerChannel::read_line() {
  for (;;) {
    if (auto line = take_buffered_line()) return line;
    char chunk[256];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

std::optional<std::string> WorkerChannel::read_available(bool& closed) {
  closed = false;
  if (auto line = take_buffered_line()) return line;
  char chunk[256];
  const ssize_t n = ::read(fd_, chunk, sizeof chunk);
  if (n < 0 && errno == EINTR) return std::nullopt;
  if (n <= 0) {
    closed = true;
    return std::nullopt;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return take_buffered_line();
}

}  // namespace seqbench
