"""Synthetic articulated objects (plants, figures): physics, rendering, ground truth, data sets.

Modules: ``body`` (kinematic trees), ``physics`` (damped joint springs, poke forces), ``plant`` and
``figure`` (procedural objects), ``render`` (OpenCV drawing, backgrounds), ``clip`` (one clip and its
ground truth), ``generate`` (``generate_dataset``, used by ``ipoke synth``), ``sheet`` (contact sheets).
"""
