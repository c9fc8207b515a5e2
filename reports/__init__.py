"""Supervisors' figures: the daily, weekly and monthly reports (日报、周报、月报) and the live dashboard (数据大屏)."""
