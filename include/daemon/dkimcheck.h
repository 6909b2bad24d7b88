/*
 * dkimcheck.h - `gatehouse dkim-check`: is every signing key published?
 *
 * Loads the configuration as the daemon would (snapshot_load: every key is
 * read and checked), then asks DNS for each KeyTable entry's record and
 * prints one line per key: name, selector._domainkey.domain, algorithm,
 * bits, and match / MISMATCH / not published / revoked / bad record / DNS
 * failure, with the record to publish when it is not a match.
 *
 * Exit status (all within 1..63 but 0, so scripts can tell them apart):
 * 0 every key matches; 1 a key is not published or does not match; 2 DNS
 * did not answer for a key (and none mismatched); 3 the configuration or
 * its keys could not be loaded, or there are no keys; 4 usage.
 */
#ifndef DKIMCHECK_H
#define DKIMCHECK_H

/* dkimcheck_main - ARGV[0] is "dkim-check"; returns the exit status */
int dkimcheck_main(int argc, char **argv);

#endif
