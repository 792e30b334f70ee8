"""Fine-tuning (train, with transformers' Trainer) and knowledge distillation (distill)."""
