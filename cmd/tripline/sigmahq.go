package main

// sigmaHQUsage is the help of --sigmahq, shared by detect and rules eval
// so both load the same SigmaHQ rules the same way.
const sigmaHQUsage = "checkout of github.com/SigmaHQ/sigma: evaluate the SigmaHQ rules the rule source's sigmahq.txt enables on pushed scripts (docs/sigmahq.md; default $TRIPLINE_SIGMAHQ, empty: off)"
