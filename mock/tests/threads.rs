//! A stopped server leaves no thread behind. Alone in its test binary, so that no other test's
//! threads come and go while the threads of the process are counted.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::*;
use yunxin_ecp::StartCall;
use yunxin_ecp_mock::{MockConfig, MockServer};

/// The number of this process's threads named by the mock (`ecp-mock-*`).
fn mock_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("ecp-mock"))
        .count()
}

#[test]
#[cfg(target_os = "linux")]
fn stop_joins_every_thread() {
    let receiver = Receiver200::start();
    assert_eq!(mock_threads(), 0);
    let server = MockServer::start(MockConfig {
        callback_url: Some(receiver.url.clone()),
        ..MockConfig::default()
    })
    .unwrap();
    let call = StartCall::new("demo", "13888888888", "13777777777", 60).unwrap();
    for _ in 0..3 {
        assert_eq!(common::call(&server, &call).0, 200);
    }
    let _idle = [
        TcpStream::connect(server.addr()).unwrap(),
        TcpStream::connect(server.addr()).unwrap(),
    ];
    server.wait_for_callbacks(3, Duration::from_secs(5));
    // The listener, the callback worker, and one thread per connection (the three calls each
    // used a connection of their own, two of them may have been closed already).
    // Connection threads start as the listener accepts, which a loaded machine may delay.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while mock_threads() < 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(mock_threads() >= 4, "{}", mock_threads());
    server.stop();
    assert_eq!(mock_threads(), 0);
}
