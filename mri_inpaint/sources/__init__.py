"""Training-image sources: the course's diffusion generator, or the embedded real anatomy."""
from __future__ import annotations

from .anatomy import AnatomyParams, AnatomySource
from .base import ImageSource, minmax_normalise
from .course import CourseSource, as_image_batch, course_generator_available

SOURCE_NAMES = ("auto", "anatomy", "course")


def get_source(name: str = "auto", **course_kwargs) -> ImageSource:
    """Return the source called ``name``; ``"auto"`` picks the course generator when installed.

    Args:
        name: "auto", "anatomy" or "course".
        course_kwargs: settings for :class:`CourseSource` (steps, scheduler, temperature, batch size).
    """
    if name == "auto":
        name = "course" if course_generator_available() else "anatomy"
    if name == "anatomy":
        return AnatomySource()
    if name == "course":
        return CourseSource(**course_kwargs)
    raise ValueError(f"unknown image source {name!r}: choose one of {', '.join(SOURCE_NAMES)}")


__all__ = ["AnatomyParams", "AnatomySource", "CourseSource", "as_image_batch", "ImageSource", "SOURCE_NAMES",
           "course_generator_available", "get_source", "minmax_normalise"]
