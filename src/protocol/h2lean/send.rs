//! HOT: the lean client's request bodies: DATA frames as the server's
//! flow-control windows (connection and stream, RFC 9113 §6.9) and its
//! SETTINGS_MAX_FRAME_SIZE allow, streams served oldest first; the rest
//! waits for WINDOW_UPDATE or a larger SETTINGS_INITIAL_WINDOW_SIZE.

use super::{frame, State};

impl State {
    /// Sends what the windows allow of the waiting bodies.
    pub(super) fn pump(&mut self) {
        let mut k = 0;
        let mut wrote = false;
        while k < self.sending.len() && self.send_window > 0 {
            let id = self.sending[k];
            let (max_frame, conn_window) = (self.peer_max_frame, self.send_window);
            // A finished or reset stream sends nothing more.
            let Some(s) = self.stream_mut(id).filter(|s| s.done.is_none()) else {
                self.sending.remove(k);
                continue;
            };
            let Some((body, at)) = s.body.as_mut() else {
                self.sending.remove(k);
                continue;
            };
            let allowed = conn_window.min(s.send_window).max(0) as usize;
            let n = (body.len() - *at).min(max_frame).min(allowed);
            if n == 0 {
                // This stream waits for its own window; others may go on.
                k += 1;
                continue;
            }
            let chunk = body.slice(*at..*at + n);
            *at += n;
            let end = *at == body.len();
            s.send_window -= n as i64;
            if end {
                s.body = None;
            }
            self.send_window -= n as i64;
            let flags = if end { frame::FLAG_END_STREAM } else { 0 };
            frame::put_head(&mut self.out, n, frame::DATA, flags, id);
            self.out.extend_from_slice(&chunk);
            wrote = true;
            if end {
                self.sending.remove(k);
            }
        }
        if wrote {
            if let Some(w) = self.writer.take() {
                w.wake();
            }
        }
    }

    /// WINDOW_UPDATE: more room for the connection (stream 0) or a stream.
    pub(super) fn on_window_update(&mut self, stream: u32, increment: u32) {
        let inc = i64::from(increment);
        if stream == 0 {
            self.send_window += inc;
        } else if let Some(s) = self.stream_mut(stream) {
            s.send_window += inc;
        }
        self.pump();
    }

    /// A new SETTINGS_INITIAL_WINDOW_SIZE applies to the open streams too,
    /// as the difference from the old one (RFC 9113 §6.9.2).
    pub(super) fn on_initial_window(&mut self, window: u32) {
        let delta = i64::from(window) - self.peer_window;
        self.peer_window = i64::from(window);
        for s in self.streams.iter_mut().flatten() {
            s.send_window += delta;
        }
        self.pump();
    }
}
