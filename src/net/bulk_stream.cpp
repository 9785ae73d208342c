// bulk_stream: the object channel's scribe; its event handler follows
// CAF 0.17.6's caf::io::network::stream (stream.cpp, BSD-3-Clause,
// Dominik Charousset), with a target to read into and spans to write from.
#include "net/bulk_stream.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include <caf/actor_system_config.hpp>
#include <caf/defaults.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/interfaces.hpp>
#include <caf/io/network/operation.hpp>
#include <caf/policy/tcp.hpp>
#include <caf/settings.hpp>

namespace lumen::detail {

using caf::io::network::native_socket;
using caf::io::network::operation;
using caf::io::network::rw_state;

byte_io::~byte_io() = default;

namespace {

class plain_io : public byte_io {
 public:
  rw_state read_some(std::size_t& result, native_socket fd, void* buf,
                     std::size_t len) override {
    return caf::policy::tcp::read_some(result, fd, buf, len);
  }

  rw_state write_some(std::size_t& result, native_socket fd, const void* buf,
                      std::size_t len) override {
    return caf::policy::tcp::write_some(result, fd, buf, len);
  }
};

/// Bytes handed to one write call at most: a TLS write reports nothing
/// until all of them are out, so this bounds the steps of progress.
constexpr std::size_t max_write = 1024 * 1024;

/// Write calls in one write event at most (each stops early once the
/// socket is full).
constexpr int max_consecutive_writes = 64;

} // namespace

std::unique_ptr<byte_io> make_plain_io() {
  return std::make_unique<plain_io>();
}

// -- the event handler --------------------------------------------------------

class bulk_scribe::stream : public caf::io::network::event_handler {
 public:
  using manager_ptr = caf::intrusive_ptr<caf::io::network::stream_manager>;

  stream(caf::io::network::default_multiplexer& mpx, native_socket fd,
         std::unique_ptr<byte_io> io)
    : event_handler(mpx, fd), io_(std::move(io)) {
    max_reads_ =
      caf::get_or(mpx.system().config(), "middleman.max-consecutive-reads",
                  std::size_t{caf::defaults::middleman::max_consecutive_reads});
    configure_read(caf::io::receive_policy::at_most(1024));
  }

  byte_io& io() {
    return *io_;
  }

  void start(caf::io::network::stream_manager* mgr) {
    activate(mgr);
  }

  void activate(caf::io::network::stream_manager* mgr) {
    if (!reader_) {
      reader_.reset(mgr);
      event_handler::activate();
      prepare_next_read();
    }
  }

  void configure_read(caf::io::receive_policy::config config) {
    state_.rd_flag = static_cast<unsigned>(config.first);
    max_ = config.second;
  }

  std::vector<char>& wr_buf() {
    return wr_offline_buf_;
  }

  std::vector<char>& rd_buf() {
    return rd_buf_;
  }

  void read_into(char* p, std::size_t n) {
    sink_ = n > 0 ? p : nullptr;
    sink_size_ = n;
    sink_done_ = 0;
  }

  void discard_writes() {
    queue_.clear();
    queued_ = 0;
    wr_offline_buf_.clear();
  }

  std::size_t read_into_done() const noexcept {
    return sink_ != nullptr ? sink_done_ : 0;
  }

  void flush(const manager_ptr& mgr) {
    if (wr_offline_buf_.empty())
      return;
    piece p;
    p.owned.swap(wr_offline_buf_);
    p.data = p.owned.data();
    p.size = p.owned.size();
    queued_ += p.size;
    queue_.push_back(std::move(p));
    start_writing(mgr);
  }

  void write_from(const manager_ptr& mgr, const char* data, std::size_t n) {
    flush(mgr); // what the broker put into wr_buf goes first
    if (n == 0)
      return;
    piece p;
    p.data = data;
    p.size = n;
    queued_ += n;
    queue_.push_back(std::move(p));
    start_writing(mgr);
  }

  /// Makes the connection write once though nothing is queued (a TLS
  /// handshake).
  void force_empty_write(const manager_ptr& mgr) {
    if (!state_.writing) {
      backend().add(operation::write, fd(), this);
      writer_ = mgr;
      state_.writing = true;
    }
  }

  void handle_event(operation op) override {
    switch (op) {
    case operation::read:
      handle_read();
      break;
    case operation::write:
      handle_write();
      break;
    case operation::propagate_error:
      if (reader_)
        reader_->io_failure(&backend(), operation::read);
      if (writer_)
        writer_->io_failure(&backend(), operation::write);
      break;
    }
  }

  void removed_from_loop(operation op) override {
    switch (op) {
    case operation::read:
      reader_.reset();
      break;
    case operation::write:
      writer_.reset();
      break;
    case operation::propagate_error:
      break;
    }
  }

  void graceful_shutdown() override {
    if (state_.shutting_down)
      return;
    state_.shutting_down = true;
    if (!state_.writing)
      caf::io::network::shutdown_write(fd_);
  }

 private:
  /// Bytes to write: a flushed wr_buf (owned) or a caller's span.
  struct piece {
    std::vector<char> owned;
    const char* data = nullptr;
    std::size_t size = 0;
    std::size_t written = 0;
  };

  void start_writing(const manager_ptr& mgr) {
    if (!state_.writing) {
      backend().add(operation::write, fd(), this);
      writer_ = mgr;
      state_.writing = true;
    }
  }

  void prepare_next_read() {
    collected_ = 0;
    switch (static_cast<caf::io::receive_policy_flag>(state_.rd_flag)) {
    case caf::io::receive_policy_flag::exactly:
      if (rd_buf_.size() != max_)
        rd_buf_.resize(max_);
      read_threshold_ = max_;
      break;
    case caf::io::receive_policy_flag::at_most:
      if (rd_buf_.size() != max_)
        rd_buf_.resize(max_);
      read_threshold_ = 1;
      break;
    case caf::io::receive_policy_flag::at_least: {
      auto max_size = max_ + std::max<std::size_t>(100, max_ / 10);
      if (rd_buf_.size() != max_size)
        rd_buf_.resize(max_size);
      read_threshold_ = max_;
      break;
    }
    }
  }

  /// False once reading must stop for this event (would block, failed, or
  /// the broker is gone).
  bool read_once() {
    std::size_t rb = 0;
    if (sink_ != nullptr) {
      auto res =
        io_->read_some(rb, fd(), sink_ + sink_done_, sink_size_ - sink_done_);
      if (res == rw_state::failure) {
        reader_->io_failure(&backend(), operation::read);
        passivate();
        return false;
      }
      if (res == rw_state::indeterminate || rb == 0)
        return false;
      sink_done_ += rb;
      if (sink_done_ < sink_size_)
        return true;
      sink_ = nullptr;
      sink_size_ = sink_done_ = 0;
      // An empty new_data_msg: the target is full.
      auto ok = reader_->consume(&backend(), rd_buf_.data(), 0);
      prepare_next_read();
      if (!ok) {
        passivate();
        return false;
      }
      return true;
    }
    auto res = io_->read_some(rb, fd(), rd_buf_.data() + collected_,
                              rd_buf_.size() - collected_);
    if (res == rw_state::failure) {
      reader_->io_failure(&backend(), operation::read);
      passivate();
      return false;
    }
    if (res == rw_state::indeterminate || rb == 0)
      return false;
    collected_ += rb;
    if (collected_ >= read_threshold_) {
      auto ok = reader_->consume(&backend(), rd_buf_.data(), collected_);
      prepare_next_read();
      if (!ok) {
        passivate();
        return false;
      }
    }
    return true;
  }

  void handle_read() {
    std::size_t reads = 0;
    while (reader_ && (reads < max_reads_ || io_->pending())) {
      if (!read_once())
        return;
      ++reads;
    }
  }

  /// Sends what the byte_io holds back; false if the connection failed
  /// (reported).
  bool flush_io(rw_state& out) {
    out = io_->flush(fd());
    if (out != rw_state::failure)
      return true;
    writer_->io_failure(&backend(), operation::write);
    backend().del(operation::write, fd(), this);
    return false;
  }

  void handle_write() {
    // Bytes held back since the last event go first (TLS records gathered
    // into larger sends); if the socket takes not even those, wait.
    rw_state flushed = rw_state::success;
    if (!flush_io(flushed) || flushed != rw_state::success)
      return;
    std::size_t total = 0;
    for (int i = 0; i < max_consecutive_writes && !queue_.empty(); ++i) {
      auto& p = queue_.front();
      std::size_t wb = 0;
      auto len = std::min(p.size - p.written, max_write);
      auto res = io_->write_some(wb, fd(), p.data + p.written, len);
      if (res == rw_state::failure) {
        writer_->io_failure(&backend(), operation::write);
        backend().del(operation::write, fd(), this);
        return;
      }
      if (res == rw_state::indeterminate || wb == 0)
        break;
      p.written += wb;
      queued_ -= wb;
      total += wb;
      if (p.written == p.size)
        queue_.pop_front();
    }
    if (queue_.empty()) {
      // Nothing queued: a forced write (a TLS handshake step) ran as well.
      std::size_t wb = 0;
      if (total == 0 &&
          io_->write_some(wb, fd(), nullptr, 0) == rw_state::failure) {
        writer_->io_failure(&backend(), operation::write);
        backend().del(operation::write, fd(), this);
        return;
      }
    }
    if (!flush_io(flushed))
      return;
    if (total > 0 && state_.ack_writes && writer_)
      // The broker may queue more here (write_from, flush).
      writer_->data_transferred(&backend(), total,
                                queued_ + wr_offline_buf_.size());
    if (queue_.empty() && wr_offline_buf_.empty() && state_.writing &&
        flushed == rw_state::success) {
      state_.writing = false;
      backend().del(operation::write, fd(), this);
      if (state_.shutting_down)
        caf::io::network::shutdown_write(fd_);
    }
  }

  std::unique_ptr<byte_io> io_;
  std::size_t max_reads_ = 50;
  manager_ptr reader_;
  std::size_t read_threshold_ = 1;
  std::size_t collected_ = 0;
  std::size_t max_ = 0;
  std::vector<char> rd_buf_;
  char* sink_ = nullptr;
  std::size_t sink_size_ = 0;
  std::size_t sink_done_ = 0;
  manager_ptr writer_;
  std::deque<piece> queue_;
  std::size_t queued_ = 0;
  std::vector<char> wr_offline_buf_;
};

// -- bulk_scribe --------------------------------------------------------------

bulk_scribe::bulk_scribe(caf::io::network::default_multiplexer& mpx,
                         native_socket fd, std::unique_ptr<byte_io> io)
  : scribe(caf::io::network::conn_hdl_from_socket(fd)),
    stream_(std::make_unique<stream>(mpx, fd, std::move(io))) {}

bulk_scribe::~bulk_scribe() = default;

void bulk_scribe::configure_read(caf::io::receive_policy::config config) {
  stream_->configure_read(config);
  if (!launched_)
    launch();
}

void bulk_scribe::ack_writes(bool enable) {
  stream_->ack_writes(enable);
}

std::vector<char>& bulk_scribe::wr_buf() {
  return stream_->wr_buf();
}

std::vector<char>& bulk_scribe::rd_buf() {
  return stream_->rd_buf();
}

void bulk_scribe::graceful_shutdown() {
  stream_->graceful_shutdown();
  detach(&stream_->backend(), false);
}

void bulk_scribe::flush() {
  stream_->flush(this);
}

std::string bulk_scribe::addr() const {
  auto x = caf::io::network::remote_addr_of_fd(stream_->fd());
  return x ? *x : std::string{};
}

uint16_t bulk_scribe::port() const {
  auto x = caf::io::network::remote_port_of_fd(stream_->fd());
  return x ? *x : 0;
}

void bulk_scribe::add_to_loop() {
  stream_->activate(this);
}

void bulk_scribe::remove_from_loop() {
  stream_->passivate();
}

void bulk_scribe::read_into(char* p, std::size_t n) {
  stream_->read_into(p, n);
}

std::size_t bulk_scribe::read_into_done() const noexcept {
  return stream_->read_into_done();
}

void bulk_scribe::write_from(const char* p, std::size_t n) {
  stream_->write_from(this, p, n);
}

void bulk_scribe::discard_writes() {
  stream_->discard_writes();
}

void bulk_scribe::launch() {
  launched_ = true;
  stream_->start(this);
  if (stream_->io().starts_with_write())
    stream_->force_empty_write(this);
}

} // namespace lumen::detail
