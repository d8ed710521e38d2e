ALTER TABLE "uploads" ADD COLUMN "received_ranges" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "uploads" ADD COLUMN "validated_bytes" bigint DEFAULT 0 NOT NULL;