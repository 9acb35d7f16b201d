use clap::Parser;
use topups_mock::{Cli, Server};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    env_logger::Builder::new()
        .parse_filters(&cli.log_level)
        .format_target(false)
        .init();
    let server = match Server::start(cli.into_config()).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("topups-mock: {e}");
            std::process::exit(2);
        }
    };
    // One stable line on stdout, so scripts that start the server on port 0
    // can read the address it bound.
    println!("topups-mock listening on {}", server.url());
    // SIGTERM (Docker, Kubernetes) and Ctrl-C: stop accepting, finish what
    // is in flight (within --shutdown-timeout), exit 0.
    let stopper = server.stopper();
    let close_streams = server.stream_closer();
    tokio::spawn(async move {
        stop_signal().await;
        log::info!("stopping: finishing in-flight requests");
        close_streams();
        stopper.stop(true).await;
    });
    server.wait().await
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
