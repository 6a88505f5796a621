"""StoryHub: department stories in, an internal storytelling site out."""

__version__ = "0.1.0"
