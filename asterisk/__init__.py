"""The Asterisk carrier edge: the hotline's calls on a PBX of the centre's own, driven over ARI."""
