//! `ssh://[user@]host[:port][/remote/socket]` engines: OpenSSH forwards the remote engine's
//! socket (default `/var/run/docker.sock`) to a socket in a private temporary directory, and
//! strata speaks to that as to a local engine — BuildKit sessions included. The `ssh` process
//! lives as long as the engine. `STRATA_SSH_COMMAND` replaces `ssh` (`ssh -F ~/lab/ssh_config`),
//! as `GIT_SSH_COMMAND` does for git.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::error::EngineError;

/// The remote engine's socket when the URL names none.
const DEFAULT_REMOTE_SOCKET: &str = "/var/run/docker.sock";

/// A running `ssh -L` forward to a remote engine's socket.
pub(crate) struct SshTunnel {
    child: tokio::process::Child,
    /// Holds the local socket; removed with the tunnel.
    _directory: tempfile::TempDir,
    pub(crate) socket: PathBuf,
}

/// `ssh://user@host:2222/run/podman.sock` → (`user@host`, `Some(2222)`, `/run/podman.sock`).
pub(crate) fn parse_ssh_url(url: &str) -> Result<(String, Option<u16>, String), String> {
    let rest = url
        .strip_prefix("ssh://")
        .ok_or_else(|| "not an `ssh://` URL".to_string())?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    let (destination, port) = match authority.rsplit_once(':') {
        Some((destination, port)) => (
            destination,
            Some(
                port.parse::<u16>()
                    .map_err(|_| format!("`{port}` is not a port"))?,
            ),
        ),
        None => (authority, None),
    };
    if destination.is_empty() || destination.ends_with('@') {
        return Err("no host".to_string());
    }
    let socket = if path.is_empty() || path == "/" {
        DEFAULT_REMOTE_SOCKET.to_string()
    } else {
        path.to_string()
    };
    Ok((destination.to_string(), port, socket))
}

impl SshTunnel {
    pub(crate) async fn open(url: &str) -> Result<Self, EngineError> {
        let command_line =
            std::env::var("STRATA_SSH_COMMAND").unwrap_or_else(|_| "ssh".to_string());
        Self::open_with(url, &command_line).await
    }

    /// [`SshTunnel::open`] with `command_line` in place of `ssh`.
    async fn open_with(url: &str, command_line: &str) -> Result<Self, EngineError> {
        let failed = |message: String| EngineError::SshTunnel {
            host: url.to_string(),
            message,
        };
        let (destination, port, remote_socket) = parse_ssh_url(url).map_err(&failed)?;
        let directory = tempfile::Builder::new()
            .prefix("strata-ssh-")
            .tempdir()
            .map_err(|error| failed(format!("cannot make a directory for the socket: {error}")))?;
        let socket = directory.path().join("engine.sock");
        let mut words = command_line.split_whitespace();
        let program = words.next().unwrap_or("ssh").to_string();
        let mut command = tokio::process::Command::new(&program);
        command
            .args(words)
            .args([
                "-nNT",
                "-o",
                "ExitOnForwardFailure=yes",
                "-o",
                "BatchMode=yes",
            ])
            .arg("-L")
            .arg(format!("{}:{remote_socket}", socket.display()));
        if let Some(port) = port {
            command.args(["-p", &port.to_string()]);
        }
        command
            .arg(&destination)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|error| failed(format!("cannot run `{program}`: {error}")))?;
        // The forward is ready when its socket accepts a connection: ssh binds the socket
        // before it listens, and a connection between the two is refused. ssh exits at once
        // when the forward cannot be made.
        for _ in 0..200 {
            if socket.exists() && tokio::net::UnixStream::connect(&socket).await.is_ok() {
                return Ok(Self {
                    child,
                    _directory: directory,
                    socket,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = pipe.read_to_string(&mut stderr).await;
                }
                let said = stderr.trim();
                return Err(failed(if said.is_empty() {
                    format!("ssh exited ({status})")
                } else {
                    format!("ssh exited ({status}): {said}")
                }));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.start_kill();
        Err(failed(
            "the forwarded socket did not accept connections within 10 s".to_string(),
        ))
    }
}

impl Drop for SshTunnel {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_destination_port_and_remote_socket() {
        assert_eq!(
            parse_ssh_url("ssh://builder@arm-host").unwrap(),
            (
                "builder@arm-host".to_string(),
                None,
                DEFAULT_REMOTE_SOCKET.to_string()
            )
        );
        assert_eq!(
            parse_ssh_url("ssh://root@127.0.0.1:2222/run/podman/podman.sock").unwrap(),
            (
                "root@127.0.0.1".to_string(),
                Some(2222),
                "/run/podman/podman.sock".to_string()
            )
        );
        assert!(parse_ssh_url("ssh://host:port").is_err());
        assert!(parse_ssh_url("ssh://user@").is_err());
    }

    /// OpenSSH binds the forwarded socket before it listens on it: a tunnel is ready only
    /// once the socket takes connections. The stand-in binds, waits, then listens.
    #[tokio::test]
    async fn a_tunnel_is_ready_when_its_socket_listens_not_when_it_exists() {
        let directory = tempfile::tempdir().unwrap();
        let script = directory.path().join("slow-ssh.py");
        std::fs::write(
            &script,
            "import socket, sys, time\n\
             local = sys.argv[sys.argv.index('-L') + 1].split(':')[0]\n\
             server = socket.socket(socket.AF_UNIX)\n\
             server.bind(local)\n\
             time.sleep(0.5)\n\
             server.listen(8)\n\
             while True:\n    server.accept()[0].close()\n",
        )
        .unwrap();
        let command_line = format!("python3 {}", script.display());
        let tunnel = SshTunnel::open_with("ssh://builder@127.0.0.1/run/engine.sock", &command_line)
            .await
            .unwrap();
        tokio::net::UnixStream::connect(&tunnel.socket)
            .await
            .expect("the tunnel's socket takes connections once it is open");
    }
}
