"""The live loop around the engine: receiving inputs, the worker, clocks."""

from itinera.runtime.clock import Clock, ManualClock, SystemClock
from itinera.runtime.dispatcher import Dispatcher, RetryPolicy
from itinera.runtime.service import Service

__all__ = ["Clock", "Dispatcher", "ManualClock", "RetryPolicy", "Service", "SystemClock"]
