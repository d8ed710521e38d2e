CREATE TABLE "fleet_release_targets" (
	"release_id" text NOT NULL,
	"org_id" text NOT NULL,
	"fleet_id" text NOT NULL,
	"profile" text NOT NULL,
	"variant_id" text NOT NULL,
	"sha256" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	CONSTRAINT "fleet_release_targets_release_id_profile_pk" PRIMARY KEY("release_id","profile")
);
--> statement-breakpoint
CREATE TABLE "fleet_releases" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"fleet_id" text NOT NULL,
	"channel" text NOT NULL,
	"seq" integer NOT NULL,
	"model_version_id" text NOT NULL,
	"model_name" text NOT NULL,
	"steps" jsonb NOT NULL,
	"step_index" integer DEFAULT 0 NOT NULL,
	"percent" integer NOT NULL,
	"state" text DEFAULT 'rolling' NOT NULL,
	"soak_minutes" integer,
	"failure_threshold" double precision NOT NULL,
	"min_reports" integer NOT NULL,
	"step_started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"state_reason" text,
	"rollback_of" text,
	"targets_body" text NOT NULL,
	"snapshot_body" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fleet_tuf_keys" (
	"key_id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"fleet_id" text NOT NULL,
	"role" text NOT NULL,
	"public_hex" text NOT NULL,
	"private_ref" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "fleet_tuf_roots" (
	"fleet_id" text NOT NULL,
	"org_id" text NOT NULL,
	"version" integer NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "fleet_tuf_roots_fleet_id_version_pk" PRIMARY KEY("fleet_id","version")
);
--> statement-breakpoint
ALTER TABLE "fleet_devices" ADD COLUMN "channel" text DEFAULT 'stable' NOT NULL;--> statement-breakpoint
ALTER TABLE "fleet_devices" ADD COLUMN "bucket" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "fleet_devices" ADD COLUMN "update_release_id" text;--> statement-breakpoint
ALTER TABLE "fleet_devices" ADD COLUMN "update_status" text;--> statement-breakpoint
ALTER TABLE "fleet_devices" ADD COLUMN "update_error" text;--> statement-breakpoint
ALTER TABLE "fleet_devices" ADD COLUMN "update_latency_ms" double precision;--> statement-breakpoint
ALTER TABLE "fleet_devices" ADD COLUMN "update_reported_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "fleet_release_targets" ADD CONSTRAINT "fleet_release_targets_release_id_fleet_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."fleet_releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_release_targets" ADD CONSTRAINT "fleet_release_targets_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_release_targets" ADD CONSTRAINT "fleet_release_targets_fleet_id_fleets_id_fk" FOREIGN KEY ("fleet_id") REFERENCES "public"."fleets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_release_targets" ADD CONSTRAINT "fleet_release_targets_variant_id_model_variants_id_fk" FOREIGN KEY ("variant_id") REFERENCES "public"."model_variants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_releases" ADD CONSTRAINT "fleet_releases_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_releases" ADD CONSTRAINT "fleet_releases_fleet_id_fleets_id_fk" FOREIGN KEY ("fleet_id") REFERENCES "public"."fleets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_releases" ADD CONSTRAINT "fleet_releases_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_releases" ADD CONSTRAINT "fleet_releases_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_tuf_keys" ADD CONSTRAINT "fleet_tuf_keys_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_tuf_keys" ADD CONSTRAINT "fleet_tuf_keys_fleet_id_fleets_id_fk" FOREIGN KEY ("fleet_id") REFERENCES "public"."fleets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_tuf_roots" ADD CONSTRAINT "fleet_tuf_roots_fleet_id_fleets_id_fk" FOREIGN KEY ("fleet_id") REFERENCES "public"."fleets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fleet_tuf_roots" ADD CONSTRAINT "fleet_tuf_roots_org_id_orgs_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."orgs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "fleet_release_targets_sha" ON "fleet_release_targets" USING btree ("fleet_id","sha256");--> statement-breakpoint
CREATE UNIQUE INDEX "fleet_releases_seq" ON "fleet_releases" USING btree ("fleet_id","channel","seq");--> statement-breakpoint
CREATE INDEX "fleet_releases_org" ON "fleet_releases" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "fleet_tuf_keys_fleet" ON "fleet_tuf_keys" USING btree ("fleet_id","role");--> statement-breakpoint
CREATE INDEX "fleet_devices_update_release" ON "fleet_devices" USING btree ("update_release_id");