"""The workflow's glue: config validation, scheduler resources and the frame of every job."""
