from emotiq.cli import run

run()
