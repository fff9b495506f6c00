"""What is written from results: output formats, notices, the appraisal report, their templates."""
