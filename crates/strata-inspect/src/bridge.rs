//! Feeding an async byte stream (an engine export, a registry blob) to the synchronous tar
//! readers on a blocking thread, with a bounded channel so memory stays flat.

use std::io::Read;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

/// A `Read` over chunks arriving on a channel.
pub struct ChannelReader {
    receiver: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(error)) => return Err(error),
                None => return Ok(0),
            }
        }
        let count = buffer.len().min(self.current.len());
        buffer[..count].copy_from_slice(&self.current.split_to(count));
        Ok(count)
    }
}

/// Run `reader_task` on a blocking thread over the bytes of `stream`.
pub async fn read_stream<S, E, T, F>(
    stream: S,
    reader_task: F,
) -> Result<T, crate::error::InspectError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
    F: FnOnce(ChannelReader) -> Result<T, crate::error::InspectError> + Send + 'static,
    T: Send + 'static,
{
    let (sender, receiver) = mpsc::channel(16);
    let reader = ChannelReader {
        receiver,
        current: Bytes::new(),
    };
    let task = tokio::task::spawn_blocking(move || reader_task(reader));
    let mut stream = stream;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| std::io::Error::other(error.to_string()));
        let failed = chunk.is_err();
        // The reader may stop early (an error, or it has what it needs): stop feeding it.
        if sender.send(chunk).await.is_err() || failed {
            break;
        }
    }
    drop(sender);
    task.await.map_err(crate::error::InspectError::Reader)?
}
