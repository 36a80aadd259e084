"""`agora seed`: realistic demo data written through each service's own bulk writer."""
