"""Report: draw the monthly PDF, PNG and CSV from data the metrics stage returns; reads no database."""
