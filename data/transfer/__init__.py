"""Moving records in and out of Dispatch as CSV, JSON, iCalendar and GeoJSON files."""
