"""Customer reminders: appointment reminders and "technician on the way" messages by email and SMS webhook."""
