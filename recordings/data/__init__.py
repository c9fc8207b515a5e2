"""Quality-inspection data files: sampling settings (qa.yaml) and the scoring rubric (rubric.yaml)."""
