// The line protocol between a multi-worker run and its workers, over one socket pair per worker:
//   worker -> parent  "ready <sweep fingerprint>"   once, after the worker expanded the same sweep
//   parent -> worker  "cell <index>"                run cell <index> of the sweep and store it
//   worker -> parent  "done <index> ok|failed"      after the cell is committed to the store
// The parent closing its end tells an idle worker to exit. A worker that dies shows as end of file.
#pragma once
#include <optional>
#include <string>

namespace seqbench {

class WorkerChannel {
 public:
  explicit WorkerChannel(int fd = -1) : fd_(fd) {}
  ~WorkerChannel();
  WorkerChannel(WorkerChannel&& other) noexcept;
  WorkerChannel& operator=(WorkerChannel&& other) noexcept;
  WorkerChannel(const WorkerChannel&) = delete;
  WorkerChannel& operator=(const WorkerChannel&) = delete;

  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void close();
  // Tells the other side nothing more is coming (it reads end of file) while still reading its
  // replies, so the worker's exit shows up here as end of file too.
  void finish_sending();

  // False when the other side is gone.
  bool send_line(const std::string& line);
  // Blocks until a whole line arrives (a signal does not end the wait); nullopt at end of file
  // (the other side closed or died).
  std::optional<std::string> read_line();
  // Reads what is available without blocking (after poll says the fd is readable) and returns a
  // complete line if one is buffered; `closed` is set at end of file.
  std::optional<std::string> read_available(bool& closed);
  // A complete line already read and not yet returned, if any.
  std::optional<std::string> take_buffered_line();

 private:

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace seqbench
