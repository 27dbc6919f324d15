"""Alerts and scheduled reports (issue 21): subscriptions, what each delivery says (computed as its recipient), and the run that delivers what is due."""
