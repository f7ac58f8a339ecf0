"""The modality-agnostic RPR core: perturbation specs and streams, the batching engine,
statistics, reports, result storage and process distribution.

Nothing in this package knows about text or images: a perturbation is a seeded function of
(input, random stream), a model is something that maps a batch of inputs to labels.
"""
