"""Use-cases the routes call. Routes parse and serialise; the work and the owner checks live here."""
