-- 029: CRL numbers. A CRL's cRLNumber (RFC 5280 5.2.3) must grow with every CRL its issuer publishes,
-- whichever frontend builds it: one sequence serves every issuer (each issuer's numbers still only grow).
-- The frontend's role may take numbers (nextval: USAGE); it may not set the sequence back (setval needs
-- UPDATE), so no CRL can carry a number already used.
CREATE SEQUENCE crl_number AS bigint MINVALUE 1 NO CYCLE;
GRANT USAGE ON SEQUENCE crl_number TO hsmca_frontend;
