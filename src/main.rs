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
    let stopper = server.stopper();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stopper.stop(true).await;
        }
    });
    server.wait().await
}
