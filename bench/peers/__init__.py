"""Peer servers for bench/fanout.py --peers (issue 14): the yardsticks the portal is measured against."""
