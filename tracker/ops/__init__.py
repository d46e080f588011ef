"""Ops: run the stages unattended (the report job, scheduler, crontab, status, delivery, data care)."""
