"""The operations every entry point needs — the command line, the dashboard's report jobs and the
scheduled deliveries — written once, above the domain packages they combine."""
