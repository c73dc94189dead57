"""hazleads: ranked, explained leads for hazardous-waste crime investigators."""

__version__ = "0.1.0"
